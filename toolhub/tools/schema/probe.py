"""Derive parameter schemas by loading a tool's source in a separate, confined process.

Used only when an annotation names something the source itself defines or imports (a Pydantic
model, an Enum, ...). The child (`child.py`) runs under `python -I -B` with an empty
environment, resource limits and a wall-clock timeout, inside bubblewrap: own user, pid, ipc, uts,
network and mount namespaces, no capabilities, and a file system that holds only /usr, the Python
installation, the server's virtualenv and the child script (read-only), a fresh /dev and /proc and an
empty /tmp. No /etc, /home, /root, /run, /var and no TOOLHUB_HOME, so the source cannot read what the
server can. Without a working bubblewrap the derivation is refused, never run unconfined.

The child answers JSON on its original stdout, which the server reads as untrusted data: its size,
the error texts and the descriptions in it are capped here, not by the child. No pickle, nothing
executed here.
"""

import contextlib
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal

from toolhub.tools.schema.source import PRESEEDED_TYPING, SchemaProblem

ERROR_CHARS = 500
"""Longest error text from the child that reaches the client."""
DESCRIPTION_CHARS = 2000
"""Longest description from the child that reaches the schema."""

_CHILD = Path(__file__).with_name("child.py")
_CHILD_ENV = {"PATH": os.defpath, "LC_ALL": "C.UTF-8"}
_NAMESPACES = (
    "--unshare-all", "--unshare-user", "--disable-userns", "--uid", "65534", "--gid", "65534",
    "--cap-drop", "ALL", "--die-with-parent", "--new-session",
)  # fmt: skip
_USR_ALIASES = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")
"""Top-level directories that merged-/usr systems make symlinks into /usr; mirrored as they are on the host."""
_STDERR_TAIL = 400
_CONFIRMED: set[str] = set()
"""bwrap paths that passed `bwrap_works`; a failure is checked again next time."""


@dataclass(frozen=True, kw_only=True)
class ProbeLimits:
    """Bounds on one derivation in the child process."""

    timeout_seconds: float = 10.0
    """Wall clock, start-up included; then the whole process group is killed."""
    cpu_seconds: int = 10
    memory_bytes: int = 1 << 30
    """Address space (RLIMIT_AS)."""
    file_bytes: int = 4 << 20
    """Largest file the child may write, its answer included (RLIMIT_FSIZE)."""
    answer_bytes: int = 256 << 10
    """Largest answer the server reads; a longer one is an error."""
    sandbox: Literal["bwrap", "unconfined-test-only"] = "bwrap"
    """"bwrap" refuses to derive when bubblewrap does not work. "unconfined-test-only" runs the child with
    limits and audit hooks alone: it can read whatever the server can, so only tests use it."""


DEFAULT_LIMITS = ProbeLimits()


def probe_parameters(
    source_code: str, function: str, parameters: list[str], limits: ProbeLimits = DEFAULT_LIMITS
) -> dict[str, dict[str, Any]]:
    """`{parameter: {"schema": <pydantic JSON schema>, "description": str | None}}` from the child.

    Raises SchemaProblem when bubblewrap does not work here, or the source fails to load, times out,
    crashes or answers nonsense.
    """
    command = _command(limits)
    request = {
        "source": source_code,
        "function": function,
        "parameters": parameters,
        "preseed": sorted(PRESEEDED_TYPING),
    }
    with tempfile.TemporaryFile() as stdin, tempfile.TemporaryFile() as stdout, tempfile.TemporaryFile() as stderr:
        stdin.write(json.dumps(request).encode())
        stdin.seek(0)
        returncode = _run(command, stdin, stdout, stderr, limits.timeout_seconds)
        answer = _head(stdout, limits.answer_bytes + 1)
        errors = _tail(stderr, 4 * _STDERR_TAIL)
    if len(answer) > limits.answer_bytes:
        raise SchemaProblem(f"the schema process answered more than {limits.answer_bytes} bytes")
    return _parameters_from(_answer(answer.decode("utf-8", errors="replace"), returncode, errors, limits), parameters)


def _command(limits: ProbeLimits) -> list[str]:
    child = [
        sys.executable,
        "-I",
        "-B",
        str(_CHILD),
        str(limits.cpu_seconds),
        str(limits.memory_bytes),
        str(limits.file_bytes),
    ]
    if limits.sandbox == "unconfined-test-only":
        return child
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        raise SchemaProblem(_needs_bwrap("bubblewrap (bwrap) is not installed on the server"))
    if not bwrap_works():
        raise SchemaProblem(_needs_bwrap("bubblewrap (bwrap) cannot create its sandbox on this server"))
    return bwrap_command(bwrap, _kept_paths(), child)


def _needs_bwrap(reason: str) -> str:
    return (
        "its annotations name types that only loading the source can resolve (a Pydantic model, an Enum, an "
        f"import), and loading untrusted source needs bubblewrap to confine it, but {reason}; use builtin and "
        "typing annotations, or send json_schema"
    )


def bwrap_command(bwrap: str, readable: Iterable[Path], command: list[str]) -> list[str]:
    """`command` inside bubblewrap, seeing /usr and `readable` (read-only) and nothing else of the host."""
    args = [bwrap, *_NAMESPACES, "--ro-bind", "/usr", "/usr"]
    for name in _USR_ALIASES:
        alias = Path("/", name)
        if alias.is_symlink():
            args += ["--symlink", os.readlink(alias), str(alias)]
        elif alias.is_dir():
            args += ["--ro-bind", str(alias), str(alias)]
    args += ["--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"]  # before the binds: a venv may live in /tmp
    for path in readable:
        args += ["--ro-bind", str(path), str(path)]
    return [*args, "--chdir", "/tmp", "--", *command]


def _kept_paths() -> list[Path]:
    """The Python installation, the server's virtualenv and the child script, as named and as resolved;
    each only once, and none that /usr already holds."""
    named = [Path(sys.prefix), Path(sys.base_prefix), Path(sys.executable).parent, _CHILD]
    candidates = {Path(os.path.abspath(path)) for path in named} | {path.resolve() for path in named}
    usr = Path("/usr")
    covered = {usr} | candidates
    return sorted(
        path
        for path in candidates - {usr}
        if not any(path != other and path.is_relative_to(other) for other in covered)
    )


def bwrap_works() -> bool:
    """Whether bubblewrap can confine the child here (user namespaces may be disabled): it must import pydantic."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return False
    if bwrap in _CONFIRMED:
        return True
    command = bwrap_command(bwrap, _kept_paths(), [sys.executable, "-I", "-B", "-c", "import pydantic"])
    try:
        check = subprocess.run(command, env=_CHILD_ENV, capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    if check.returncode == 0:
        _CONFIRMED.add(bwrap)
    return check.returncode == 0


def _run(command: list[str], stdin: IO[bytes], stdout: IO[bytes], stderr: IO[bytes], timeout: float) -> int | None:
    """Run to completion or kill its process group at the deadline; None means it timed out."""
    proc = subprocess.Popen(
        command,
        stdin=stdin,
        stdout=stdout,
        stderr=stderr,
        env=_CHILD_ENV,
        cwd=tempfile.gettempdir(),
        start_new_session=True,
    )
    try:
        finished = _wait_unreaped(proc.pid, timeout)
    finally:
        _kill_group(proc.pid)  # also kills whatever it left behind; the leader is unreaped, so the pgid is ours
        proc.wait()
    return proc.returncode if finished else None


def _wait_unreaped(pid: int, timeout: float) -> bool:
    """Wait for exit without reaping (a pidfd), so killing the group afterwards cannot hit a reused pid."""
    pidfd = os.pidfd_open(pid)
    try:
        poller = select.poll()  # not select(): a busy server may hold fds above FD_SETSIZE
        poller.register(pidfd, select.POLLIN)
        return bool(poller.poll(timeout * 1000))
    finally:
        os.close(pidfd)


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)


def _head(file: IO[bytes], limit: int) -> bytes:
    file.seek(0)
    return file.read(limit)


def _tail(file: IO[bytes], limit: int) -> str:
    size = file.seek(0, os.SEEK_END)
    file.seek(max(0, size - limit))
    return file.read(limit).decode("utf-8", errors="replace")


def _answer(answer: str, returncode: int | None, errors: str, limits: ProbeLimits) -> dict[str, Any]:
    if returncode is None:
        raise SchemaProblem(f"loading the source timed out after {limits.timeout_seconds:g} s")
    signal_number = -returncode if returncode < 0 else returncode - 128 if 128 < returncode <= 192 else 0
    if signal_number:  # bwrap reports a signal as 128 + its number, like a shell
        raise SchemaProblem(f"loading the source crashed ({_signal_name(signal_number)})")
    try:
        return _object(json.loads(answer, parse_constant=_reject_constant))
    except (ValueError, RecursionError):
        pass
    detail = errors.strip()[-_STDERR_TAIL:]
    raise SchemaProblem(
        f"loading the source exited with status {returncode} without a valid result" + (f": {detail}" if detail else "")
    )


def _parameters_from(answer: dict[str, Any], parameters: list[str]) -> dict[str, dict[str, Any]]:
    """The child's answer, checked and with every error text and description capped."""
    if answer.get("ok") is not True:
        parameter = answer.get("parameter")
        error = answer.get("error")
        text = _clip(error if isinstance(error, str) else "the schema process failed without saying why", ERROR_CHARS)
        named = parameter if isinstance(parameter, str) and parameter in parameters else None
        raise SchemaProblem(text, parameter=named)
    found = _object(answer.get("parameters"))
    if set(found) != set(parameters):
        raise SchemaProblem("the schema process answered for the wrong parameters")
    checked = {}
    for name, entry in found.items():
        schema, description = _object(entry).get("schema"), entry.get("description")
        if not isinstance(schema, dict) or not isinstance(description, str | None):
            raise SchemaProblem("the schema process answered malformed data")
        try:
            schema = _clip_descriptions(schema)
        except RecursionError:
            raise SchemaProblem("the schema process answered a schema nested too deeply") from None
        checked[name] = {"schema": schema, "description": None if description is None else _clip(description)}
    return checked


def _clip(text: str, limit: int = DESCRIPTION_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _clip_descriptions(value: Any) -> Any:
    """A copy of a JSON value with every "description" string capped (they become text the model reads)."""
    if isinstance(value, list):
        return [_clip_descriptions(item) for item in value]
    if not isinstance(value, dict):
        return value
    return {
        key: _clip(item) if key == "description" and isinstance(item, str) else _clip_descriptions(item)
        for key, item in value.items()
    }


def _object(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise SchemaProblem("the schema process answered malformed data")
    return value


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _signal_name(number: int) -> str:
    if number == signal.SIGXCPU:
        return "CPU time limit exceeded"
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"
