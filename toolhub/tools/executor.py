"""The one door every tool call goes through: pick the backend for the tool's type, run it, and shape the
result the way the model and Letta's API see it (JSON text, truncated to the tool's `return_char_limit`)."""

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from toolhub.sandbox.base import AgentSnapshot, ExecutionResult, Sandbox, SandboxLimits, ToolInvocation
from toolhub.sandbox.config_models import DEFAULT_TIMEOUT_S


def truncation_note(length: int, limit: int) -> str:
    return f"... [NOTE: function output was truncated since it exceeded the character limit: {length} > {limit}]"


def return_text(value: Any, limit: int) -> str:
    """The tool's return value as the model reads it; longer than `limit` is cut, and says so."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    if len(text) <= limit:
        return text
    return text[:limit] + truncation_note(len(text), limit)


@dataclass(frozen=True, kw_only=True)
class SandboxChoice:
    """Which sandbox runs a custom tool, with its stored config (as saved by `/v1/sandbox-config`)."""

    sandbox_type: str
    config: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class PythonCall:
    """A custom Python tool call, resolved: source, arguments, merged environment and where to run it."""

    name: str
    source_code: str
    args: Mapping[str, Any]
    json_schema: Mapping[str, Any] | None = None
    args_json_schema: Mapping[str, Any] | None = None
    pip_requirements: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    agent_state: AgentSnapshot | None = None
    sandbox: SandboxChoice
    timeout_s: float | None = None
    """A per-tool override (`metadata_.timeout`) of the sandbox config's timeout."""


class ToolExecutor:
    """Holds the sandbox backends for the server's lifetime."""

    def __init__(self, sandboxes: Mapping[str, Sandbox]) -> None:
        self._sandboxes = dict(sandboxes)

    def available(self) -> list[str]:
        return sorted(self._sandboxes)

    async def run_python(self, call: PythonCall) -> ExecutionResult:
        backend = self._sandboxes.get(call.sandbox.sandbox_type)
        if backend is None:
            available = ", ".join(self.available())
            return ExecutionResult.failure(
                call.name,
                "SandboxError",
                f"the {call.sandbox.sandbox_type} sandbox is not available on this server (available: {available})",
            )
        return await backend.run(_invocation(call))

    async def close(self) -> None:
        for backend in self._sandboxes.values():
            await backend.close()


def _invocation(call: PythonCall) -> ToolInvocation:
    config = call.sandbox.config
    requirements = tuple(_requirement_strings(config.get("pip_requirements"))) + call.pip_requirements
    limits = SandboxLimits(
        timeout_s=float(call.timeout_s or config.get("timeout") or DEFAULT_TIMEOUT_S),
        memory_mb=int(config.get("memory_mb", SandboxLimits.memory_mb)),
    )
    sandbox_dir = config.get("sandbox_dir")
    return ToolInvocation(
        name=call.name,
        source_code=call.source_code,
        args=call.args,
        json_schema=call.json_schema,
        args_json_schema=call.args_json_schema,
        pip_requirements=requirements,
        env=call.env,
        agent_state=call.agent_state,
        limits=limits,
        allow_network=bool(config.get("allow_network") or config.get("network")),
        sandbox_dir=Path(sandbox_dir) if sandbox_dir else None,
    )


def _requirement_strings(requirements: Any) -> list[str]:
    out = []
    for req in requirements or ():
        if isinstance(req, str):
            out.append(req)
        elif req.get("version"):
            out.append(f"{req['name']}=={req['version']}")
        else:
            out.append(req["name"])
    return out
