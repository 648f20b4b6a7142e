"""Derive parameter schemas by loading a tool's source in a separate, confined process.

Used only when an annotation names something the source itself defines or imports (a Pydantic
model, an Enum, ...). The child (`schema_child.py`) runs under `python -I -B` with an empty
environment, resource limits and a wall-clock timeout, inside bubblewrap when it works here (no
network, read-only filesystem, own pid namespace, unprivileged uid). It answers JSON on its
original stdout, which the server reads as untrusted data. No pickle, nothing executed here.
"""

import contextlib
import functools
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal

from toolhub.tools.schema_source import PRESEEDED_TYPING, SchemaProblem

_CHILD = Path(__file__).with_name("schema_child.py")
_CHILD_ENV = {"PATH": os.defpath, "LC_ALL": "C.UTF-8"}
_BWRAP_ARGS = (
    "--unshare-all", "--unshare-user", "--uid", "65534", "--gid", "65534", "--cap-drop", "ALL",
    "--die-with-parent", "--new-session", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
    "--tmpfs", "/tmp", "--chdir", "/tmp",
)  # fmt: skip
_STDERR_TAIL = 400


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
    sandbox: Literal["auto", "bwrap", "none"] = "auto"
    """"auto" uses bubblewrap when it runs here; "none" relies on limits and audit hooks alone."""


DEFAULT_LIMITS = ProbeLimits()


def probe_parameters(
    source_code: str, function: str, parameters: list[str], limits: ProbeLimits = DEFAULT_LIMITS
) -> dict[str, dict[str, Any]]:
    """`{parameter: {"schema": <pydantic JSON schema>, "description": str | None}}` from the child.

    Raises SchemaProblem when the source fails to load, times out, crashes or answers nonsense.
    """
    request = {
        "source": source_code,
        "function": function,
        "parameters": parameters,
        "preseed": sorted(PRESEEDED_TYPING),
    }
    with tempfile.TemporaryFile() as stdin, tempfile.TemporaryFile() as stdout, tempfile.TemporaryFile() as stderr:
        stdin.write(json.dumps(request).encode())
        stdin.seek(0)
        returncode = _run(_command(limits), stdin, stdout, stderr, limits.timeout_seconds)
        answer = _read(stdout, limits.file_bytes)
        errors = _read(stderr, limits.file_bytes)
    return _parameters_from(_answer(answer, returncode, errors, limits), parameters)


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
    use_bwrap = limits.sandbox == "bwrap" or (limits.sandbox == "auto" and bwrap_works())
    return [*_bwrap(), *child] if use_bwrap else child


def _bwrap() -> list[str]:
    """bwrap and its options; the interpreter and this package stay visible even if they live under /tmp."""
    path = shutil.which("bwrap")
    if path is None:
        raise RuntimeError("bubblewrap (bwrap) is not installed")
    keep = sorted({sys.prefix, sys.base_prefix, str(_CHILD.parent)})
    return [path, *_BWRAP_ARGS, *(arg for kept in keep for arg in ("--ro-bind", kept, kept))]


@functools.cache
def bwrap_works() -> bool:
    """Whether bubblewrap can create the sandbox here (user namespaces may be disabled)."""
    try:
        command = [*_bwrap(), sys.executable, "-I", "-S", "-c", ""]
        check = subprocess.run(command, env=_CHILD_ENV, capture_output=True, timeout=10)
    except (RuntimeError, OSError, subprocess.TimeoutExpired):
        return False
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


def _read(file: IO[bytes], limit: int) -> str:
    file.seek(0)
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
    if answer.get("ok") is not True:
        parameter = answer.get("parameter")
        raise SchemaProblem(str(answer.get("error")), parameter=parameter if parameter in parameters else None)
    found = _object(answer.get("parameters"))
    if set(found) != set(parameters):
        raise SchemaProblem("the schema process answered for the wrong parameters")
    for entry in found.values():
        if "schema" not in _object(entry) or not isinstance(entry.get("description"), str | None):
            raise SchemaProblem("the schema process answered malformed data")
    return found


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
