"""The server's half of the runner protocol (the wire is described in `runner.py`).

Builds the frames for a call and turns what the runner sends back into an `ExecutionResult`. It knows nothing of
how the bytes travel, so every backend that runs `runner.py` (a local process, a container) shares it.
"""

import json
import math
import signal
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from toolhub.sandbox.base import ExecutionResult, ToolInvocation
from toolhub.sandbox.inside.runner import FRAME, RESULT_CAP_BYTES


@dataclass(frozen=True)
class Outcome:
    """A runner's report on one call: the `done` header and the three bodies after it."""

    header: dict[str, Any]
    result: bytes
    stdout: bytes
    stderr: bytes


def frame(data: bytes) -> bytes:
    return FRAME.pack(len(data)) + data


def run_frames(call_id: int, invocation: ToolInvocation, env: dict[str, str]) -> bytes:
    """The `run` header and the call itself; `env` is the invocation's environment plus the backend's additions."""
    limits = invocation.limits
    header = {"op": "run", "id": call_id, "timeout_s": limits.timeout_s, "output_cap": limits.output_cap_bytes}
    agent = invocation.agent_state
    call = {
        "name": invocation.name,
        "source_code": invocation.source_code,
        "args": dict(invocation.args),
        "json_schema": invocation.json_schema,
        "args_json_schema": invocation.args_json_schema,
        "env": env,
        "agent_state": None
        if agent is None
        else {"id": agent.id, "name": agent.name, "tags": list(agent.tags), "blocks": dict(agent.blocks)},
        "limits": vars(limits),
        "sandbox_dir": None if invocation.sandbox_dir is None else str(invocation.sandbox_dir),
    }
    return frame(json.dumps(header).encode()) + frame(json.dumps(call, default=_jsonable).encode())


def cancel_frame(call_id: int) -> bytes:
    return frame(json.dumps({"op": "cancel", "id": call_id}).encode())


def to_result(invocation: ToolInvocation, outcome: Outcome) -> ExecutionResult:
    """What the call returned, or why it returned nothing, in Letta's error wording."""
    header, name, limits = outcome.header, invocation.name, invocation.limits
    stdout = _text(outcome.stdout, header.get("stdout_dropped", 0), limits.output_cap_bytes)
    stderr = _text(outcome.stderr, header.get("stderr_dropped", 0), limits.output_cap_bytes)
    output = {"stdout": stdout, "stderr": stderr, "duration_ms": header.get("duration_ms", 0.0)}
    if header.get("refused"):
        return ExecutionResult.failure(name, "SandboxError", str(header["refused"]), **output)
    if header["timed_out"]:
        return ExecutionResult.failure(
            name, "TimeoutError", f"Executing tool {name} timed out after {limits.timeout_s:g} seconds.", **output
        )
    if header["result_dropped"]:
        message = f"the return value is larger than the {RESULT_CAP_BYTES}-byte limit"
        return ExecutionResult.failure(name, "SandboxError", message, **output)
    if not outcome.result:
        return ExecutionResult.failure(name, *_why_no_result(header, limits.cpu_s, limits.timeout_s), **output)
    try:
        result = json.loads(outcome.result)
        status = result["status"]
    except (ValueError, TypeError, KeyError, RecursionError):  # a tool may forge any bytes on its result pipe
        return ExecutionResult.failure(name, "SandboxError", "the tool's result could not be decoded", **output)
    if status != "success":
        return ExecutionResult.failure(name, str(result.get("exc_type")), str(result.get("message")), **output)
    known = invocation.agent_state.blocks if invocation.agent_state else {}
    reported = result.get("memory_edits")
    edits = {
        label: value
        for label, value in (reported.items() if isinstance(reported, dict) else ())
        if label in known and isinstance(value, str)
    }
    return ExecutionResult(status="success", func_return=result.get("value"), memory_edits=edits, **output)


def _why_no_result(header: dict[str, Any], cpu_s: int | None, timeout_s: float) -> tuple[str, str]:
    number = header.get("signal")
    if number == signal.SIGXCPU:
        seconds = cpu_s or math.ceil(timeout_s) + 1
        return "TimeoutError", f"the tool used more than its CPU time limit of {seconds} seconds"
    if number is not None:
        return "SandboxError", f"the tool process was killed by {_signal_name(number)}"
    return "SandboxError", f"the tool process exited with status {header.get('exit_code')} before returning a result"


def _signal_name(number: int) -> str:
    try:
        return f"{signal.Signals(number).name} ({signal.strsignal(number)})"
    except ValueError:
        return f"signal {number}"


def _text(data: bytes, dropped: int, cap: int) -> str:
    text = data.decode("utf-8", errors="replace")
    if dropped:
        text += f"\n[output truncated: {dropped} more bytes were cut at the {cap}-byte limit]"
    return text


def _jsonable(value: Any) -> Any:
    """Tool arguments arrive as JSON already; mappings, tuples and the like from Python callers are converted."""
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, (tuple, set, frozenset)):
        return list(value)
    return str(value)


HEAVY_MODULES = ("asyncio", "pydantic")
"""Preloaded only in runners for tools that look like they use them: they make every fork dearer."""


def preload_for(invocation: ToolInvocation) -> tuple[str, ...]:
    """Heavy modules worth having in the worker for this tool: a routing choice only, never a behaviour one."""
    source = invocation.source_code
    if invocation.args_json_schema is not None or "async def" in source or "pydantic" in source:
        return HEAVY_MODULES
    return ()
