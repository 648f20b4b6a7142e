"""The confined side of schema derivation: load a tool's source, answer its parameter schemas as JSON.

Started by `probe` as `python -I -B child.py CPU_S MEMORY_BYTES FILE_BYTES` with the
request (JSON) on stdin. It imports only the standard library and pydantic, never toolhub, so
nothing of the server leaks in. It writes exactly one JSON document to the original stdout;
fd 1 is pointed at /dev/null first, so whatever the tool prints cannot mix with the answer.
"""

import os
import resource
import sys
import types
import typing
from json import dumps, load
from typing import Any

from pydantic import TypeAdapter
from pydantic.fields import FieldInfo

_DENIED_EVENTS = frozenset({
    "os.system", "os.exec", "os.spawn", "os.posix_spawn", "os.fork", "os.forkpty", "subprocess.Popen",
    "os.kill", "os.killpg", "signal.pthread_kill", "socket.connect", "socket.bind", "socket.sendto",
    "socket.sendmsg", "ctypes.dlopen", "ctypes.dlsym", "ctypes.cdata", "os.remove", "os.rmdir",
    "os.rename", "os.truncate", "shutil.rmtree",
})  # fmt: skip
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


def main() -> None:
    cpu_seconds, memory_bytes, file_bytes = (int(arg) for arg in sys.argv[1:4])
    os.nice(10)  # a busy source yields the CPU to the server and tool calls; bwrap drops the capability to undo it
    _limit_resources(cpu_seconds, memory_bytes, file_bytes)
    request = load(sys.stdin)
    answer = os.fdopen(_private_stdout(), "w", encoding="utf-8")
    sys.addaudithook(_deny_side_effects)
    answer.write(dumps(_describe(request)))
    answer.flush()
    os._exit(0)  # skip atexit handlers and thread joins the tool may have registered


def _limit_resources(cpu_seconds: int, memory_bytes: int, file_bytes: int) -> None:
    """Hard limits too, so the tool cannot raise them again (the CPU hard limit is the SIGKILL backstop)."""
    limits = {
        resource.RLIMIT_CPU: (cpu_seconds, cpu_seconds + 1),
        resource.RLIMIT_AS: (memory_bytes, memory_bytes),
        resource.RLIMIT_FSIZE: (file_bytes, file_bytes),
        resource.RLIMIT_NPROC: (0, 0),
        resource.RLIMIT_CORE: (0, 0),
    }
    for which, (soft, hard) in limits.items():
        ceiling = resource.getrlimit(which)[1]  # an unprivileged process cannot go above its current hard limit
        if ceiling != resource.RLIM_INFINITY:
            soft, hard = min(soft, ceiling), min(hard, ceiling)
        resource.setrlimit(which, (soft, hard))


def _private_stdout() -> int:
    """Keep the real stdout for the answer alone; the tool's prints go to /dev/null."""
    answer_fd = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.close(devnull)
    return answer_fd


def _deny_side_effects(event: str, args: tuple[Any, ...]) -> None:
    """Loading a tool to read its signature needs no processes, signals, network or file writes."""
    if event in _DENIED_EVENTS:
        raise PermissionError(f"{event} is not allowed while deriving a tool schema")
    if event == "open" and _opens_for_writing(args):
        raise PermissionError("writing files is not allowed while deriving a tool schema")


def _opens_for_writing(args: tuple[Any, ...]) -> bool:
    _, mode, flags = args
    if isinstance(mode, str):
        return any(char in mode for char in "wax+")
    return bool(flags & _WRITE_FLAGS)


def _describe(request: dict[str, Any]) -> dict[str, Any]:
    try:
        module = _load(request["source"], request["preseed"])
    except BaseException as exc:  # the source may raise anything, SystemExit included
        return {"ok": False, "error": _load_failure(exc)}
    function = module.__dict__.get(request["function"])
    if not callable(function):
        return {"ok": False, "error": f"{request['function']!r} is not a function once the source has run"}
    parameters = {}
    for name in request["parameters"]:
        try:
            parameters[name] = _parameter(function, name)
        except BaseException as exc:
            return {"ok": False, "parameter": name, "error": _exception_text(exc)}
    return {"ok": True, "parameters": parameters}


def _load(source: str, preseed: list[str]) -> types.ModuleType:
    """Run the source as a registered module, so pydantic can resolve names defined in it."""
    module = types.ModuleType("tool_source")
    module.__dict__.update({name: getattr(typing, name) for name in preseed})
    sys.modules[module.__name__] = module
    exec(compile(source, "<tool source>", "exec", dont_inherit=True), module.__dict__)
    return module


def _parameter(function: Any, name: str) -> dict[str, Any]:
    holder = types.SimpleNamespace(__annotations__={name: function.__annotations__[name]})
    holder.__globals__ = function.__globals__
    hint = typing.get_type_hints(holder, include_extras=True)[name]
    return {"schema": TypeAdapter(hint).json_schema(), "description": _annotated_description(hint)}


def _annotated_description(hint: Any) -> str | None:
    """`Annotated[T, Field(description=...)]` first, then `Annotated[T, "text"]`, as the static path reads them."""
    metadata = getattr(hint, "__metadata__", ()) if typing.get_origin(hint) is typing.Annotated else ()
    fields = [m.description for m in metadata if isinstance(m, FieldInfo) and m.description]
    notes = [m for m in metadata if isinstance(m, str)]
    return next(iter(fields + notes), None)


def _load_failure(exc: BaseException) -> str:
    if isinstance(exc, SystemExit):
        return f"the source exited (status {exc.code!r}) while being loaded"
    return f"loading the source raised {_exception_text(exc)}"


def _exception_text(exc: BaseException) -> str:
    try:
        text = str(exc)
    except BaseException:  # a hostile __str__
        text = ""
    return f"{type(exc).__name__}: {text}"[:500] if text else type(exc).__name__


if __name__ == "__main__":
    main()
