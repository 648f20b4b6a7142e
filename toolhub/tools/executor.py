"""The one door every tool call goes through: pick the backend for the tool's type, run it, and shape the
result the way the model and Letta's API see it (JSON text, truncated to the tool's `return_char_limit`)."""

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from toolhub.mcp_bridge.errors import MCPBridgeError
from toolhub.sandbox.base import AgentSnapshot, ExecutionResult, Sandbox, SandboxLimits, ToolInvocation
from toolhub.sandbox.config_models import DEFAULT_TIMEOUT_S, DockerSandboxConfig, requirement_strings
from toolhub.store.models import Tool as ToolRow
from toolhub.tools.mcp_hub import MCPHub


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
class MCPCall:
    """A call of a registered MCP tool; `fingerprint` pins the definition it was registered with."""

    organization_id: str
    server_name: str
    tool_name: str
    args: Mapping[str, Any]
    fingerprint: str | None = None


class ToolExecutor:
    """Holds the sandbox backends and the MCP hub for the server's lifetime."""

    def __init__(self, sandboxes: Mapping[str, Sandbox], mcp: MCPHub) -> None:
        self._sandboxes = dict(sandboxes)
        self.mcp = mcp

    def available(self) -> list[str]:
        return sorted(self._sandboxes)

    def sandbox(self, sandbox_type: str) -> Sandbox:
        return self._sandboxes[sandbox_type]

    async def run(
        self,
        tool: ToolRow,
        args: Mapping[str, Any],
        organization_id: str,
        *,
        env: Mapping[str, str],
        sandbox: SandboxChoice,
        agent_state: AgentSnapshot | None = None,
    ) -> ExecutionResult:
        """Dispatch a stored tool by its type: custom → its sandbox, external_mcp → the bridge."""
        if tool.tool_type == "custom":
            invocation = ToolInvocation(
                name=tool.name,
                source_code=tool.source_code or "",
                args=args,
                tenant=organization_id,
                json_schema=tool.json_schema,
                args_json_schema=tool.args_json_schema,
                pip_requirements=requirement_strings(tool.pip_requirements),
                env=env,
                agent_state=agent_state,
            )
            return await self.run_python(sandbox, invocation, timeout_s=_stored_timeout(tool.metadata_))
        if tool.tool_type == "external_mcp":
            pin = (tool.metadata_ or {}).get("mcp")
            pin = pin if isinstance(pin, dict) else {}
            call = MCPCall(
                organization_id=organization_id,
                server_name=pin.get("server_name", ""),
                tool_name=pin.get("tool_name", tool.name),
                args=args,
                fingerprint=pin.get("fingerprint"),
            )
            return await self.run_mcp(call)
        return ExecutionResult.failure(
            tool.name,
            "NotImplementedError",
            f"{tool.name} is a {tool.tool_type} tool; it runs inside an agent step, which this server cannot run yet",
        )

    async def run_python(
        self, sandbox: SandboxChoice, invocation: ToolInvocation, *, timeout_s: float | None = None
    ) -> ExecutionResult:
        """Run a custom tool in the chosen sandbox, under that sandbox config's limits and requirements;
        `timeout_s` is a per-tool override (`metadata_.timeout`) of the config's timeout."""
        backend = self._sandboxes.get(sandbox.sandbox_type)
        if backend is None:
            available = ", ".join(self.available())
            return ExecutionResult.failure(
                invocation.name,
                "SandboxError",
                f"the {sandbox.sandbox_type} sandbox is not available on this server (available: {available})",
            )
        configured = _configured(invocation, sandbox.config, timeout_s)
        if sandbox.sandbox_type == "docker":  # image, cpus, pids and pool size travel beside the invocation
            return await backend.run(configured, DockerSandboxConfig.model_validate(dict(sandbox.config)))
        return await backend.run(configured)

    async def run_mcp(self, call: MCPCall) -> ExecutionResult:
        started = time.perf_counter()
        try:
            manager, _ = self.mcp.locate(call.organization_id, call.server_name)
        except MCPBridgeError as exc:
            return ExecutionResult.failure(call.tool_name, type(exc).__name__, str(exc))
        result = await manager.call_tool(
            call.server_name, call.tool_name, dict(call.args), expected_fingerprint=call.fingerprint
        )
        error = None if result.status == "success" else result.text
        return ExecutionResult(
            status=result.status,
            func_return=result.text,
            duration_ms=(time.perf_counter() - started) * 1000,
            error=error,
        )

    async def close(self) -> None:
        for backend in self._sandboxes.values():
            await backend.close()
        await self.mcp.close()


def _stored_timeout(metadata: Mapping[str, Any] | None) -> float | None:
    """A tool's `metadata_.timeout` if it is a usable number (rows written before it was validated may hold
    anything; such a value is ignored, never a 500)."""
    value = (metadata or {}).get("timeout")
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 86_400:
        return None
    return float(value)


def _configured(invocation: ToolInvocation, config: Mapping[str, Any], timeout_s: float | None) -> ToolInvocation:
    """The invocation under a sandbox config: its limits, network choice, sandbox_dir and extra requirements."""
    limits = SandboxLimits(
        timeout_s=float(timeout_s or config.get("timeout") or DEFAULT_TIMEOUT_S),
        memory_mb=int(config.get("memory_mb", SandboxLimits.memory_mb)),
    )
    sandbox_dir = config.get("sandbox_dir")
    return replace(
        invocation,
        pip_requirements=(*requirement_strings(config.get("pip_requirements")), *invocation.pip_requirements),
        limits=limits,
        allow_network=bool(config.get("allow_network") or config.get("network")),
        sandbox_dir=Path(sandbox_dir) if sandbox_dir else None,
    )
