"""The one door every tool call goes through: `ToolExecutor.execute(call, context)`.

It chooses the sandbox, merges the environment, dispatches by `tool_type` (custom Python → its sandbox,
`external_mcp` → the MCP hub, base tools → "runs inside an agent step"), redacts secrets from the output,
truncates the model-facing text to the tool's `return_char_limit` and returns one `ToolOutcome`.

Two kinds of failure stay apart (as pydantic-ai keeps control flow apart from errors). What the *tool* did —
returned, raised, timed out, hit a limit, or could not be installed as defined — is a `ToolOutcome` with
status "error" that the model reads. What the *infrastructure* did — engine down, pool exhausted, worker died or
could not start, cannot confine here, MCP server unreachable or gone — is raised as a `ToolInfrastructureError`
with a `code` and `retryable`, so the agent loop (or the HTTP layer) can act on it instead of showing it to the
model as if the tool had failed.
"""

import json
import os
import re
import time
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from pydantic import ValidationError

from toolhub.errors import InvalidInputError, SandboxUnavailableError
from toolhub.integrations.builtin import BUILTIN_TOOLS, call_builtin
from toolhub.mcp_bridge.results import MCPCallResult
from toolhub.sandbox.base import (
    SERVER_ENV_ALLOWED,
    AgentSnapshot,
    ExecutionResult,
    Sandbox,
    SandboxError,
    ToolInvocation,
    merge_environment,
)
from toolhub.sandbox.firewall import FirewallError
from toolhub.sandbox.requirements import InvalidRequirementError
from toolhub.sandbox.uv import InstallError
from toolhub.sandbox.worker import CallTooLargeError
from toolhub.store.repositories import Actor
from toolhub.tools.sandbox_choice import (
    SandboxChoice,
    SandboxConfigLookup,
    choose_sandbox,
)
from toolhub.tools.spec import MCPTarget, ToolCall, ToolSpec

REDACTED = "[REDACTED]"
MIN_SECRET_CHARS = 6
"""Shorter values ("1", "true", "prod") would redact ordinary words; they are not treated as secrets."""

TOOL_DEFINITION_ERRORS: tuple[type[SandboxError], ...] = (InstallError, InvalidRequirementError, CallTooLargeError)
"""Sandbox errors caused by the tool as defined or called (its requirements, the size of its call): the same call
fails the same way anywhere, so they are results the model (or client) reads. Every other `SandboxError` is the
machinery's."""


def truncation_note(length: int, limit: int) -> str:
    return f"... [NOTE: function output was truncated since it exceeded the character limit: {length} > {limit}]"


def model_text(value: Any) -> str:
    """A tool's return value as the model reads it: strings as they are, anything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)


def truncated(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, with Letta's note when it was cut."""
    if len(text) <= limit:
        return text
    return text[:limit] + truncation_note(len(text), limit)


@dataclass(frozen=True, kw_only=True)
class ExecutionContext:
    """Who a call runs for and what surrounds it."""

    actor: Actor
    agent: AgentSnapshot | None = None
    """The agent as the tool's `agent_state` sees it; None outside an agent."""
    agent_env: Mapping[str, str] = field(default_factory=dict)
    """The agent's `secrets` (alias `tool_exec_environment_variables`); redacted from the output."""
    call_env: Mapping[str, str] = field(default_factory=dict)
    """The call's own `env_vars`; the caller knows them, so they are not redacted."""
    sandbox: str | None = None
    """The agent's sandbox choice (`metadata.tool_sandbox`): over the server default, under the tool's own."""


@dataclass(frozen=True, kw_only=True)
class ToolOutcome:
    """How a call ended, as the model and Letta's API see it."""

    name: str
    status: Literal["success", "error"]
    text: str
    """The model-facing text: the return value (or Letta's error text), redacted and truncated."""
    stdout: str = ""
    stderr: str = ""
    duration_ms: float = 0.0
    memory_edits: Mapping[str, str] = field(default_factory=dict)


class ToolServers(Protocol):
    """Where `external_mcp` tools are called (`toolhub.tools.mcp_hub.MCPHub`)."""

    async def call(self, organization_id: str, target: MCPTarget, args: Mapping[str, Any]) -> MCPCallResult: ...

    async def close(self) -> None: ...


@dataclass(frozen=True)
class _Ran:
    result: ExecutionResult
    secrets: Collection[str] = ()
    """Values the call could see that must not come back in its output."""


Handler = Callable[[ToolCall, ExecutionContext], Awaitable[_Ran]]


class ToolExecutor:
    """Holds the sandbox backends and the MCP servers for the server's lifetime.

    Args:
        sandboxes: The backends by sandbox type ("local", "docker", ...).
        mcp: Where MCP tools are called.
        configs: The organizations' sandbox configs and their env vars.
        default_sandbox: The server's sandbox for custom tools (`TOOLHUB_SANDBOX`).
        server_env: The server's environment, read once here (only `SERVER_ENV_ALLOWED` is kept); `os.environ`
            when None. A later change of the server's environment reaches no tool.
    """

    def __init__(
        self,
        sandboxes: Mapping[str, Sandbox],
        mcp: ToolServers,
        *,
        configs: SandboxConfigLookup,
        default_sandbox: str = "local",
        server_env: Mapping[str, str] | None = None,
    ) -> None:
        self._sandboxes = dict(sandboxes)
        self.mcp = mcp
        self._configs = configs
        self._default_sandbox = default_sandbox
        source = os.environ if server_env is None else server_env
        self._server_env = {key: source[key] for key in SERVER_ENV_ALLOWED if key in source}
        self._handlers: dict[str, Handler] = {
            "custom": self._run_custom, "external_mcp": self._run_mcp, "letta_builtin": _run_builtin,
        }

    def available(self) -> list[str]:
        return sorted(self._sandboxes)

    def sandbox(self, sandbox_type: str) -> Sandbox:
        return self._sandboxes[sandbox_type]

    async def execute(self, call: ToolCall, context: ExecutionContext) -> ToolOutcome:
        """Run one call.

        Raises:
            ToolInfrastructureError: the sandbox or MCP server could not run the call (see the module docstring).
            InvalidInputError: the chosen sandbox is not one this server knows.
        """
        handler = self._handlers.get(call.spec.tool_type, _runs_in_agent_step)
        ran = await handler(call, context)
        return _outcome(call.spec, ran.result, _Redactor((*ran.secrets, *context.agent_env.values())))

    async def _run_custom(self, call: ToolCall, context: ExecutionContext) -> _Ran:
        spec = call.spec
        sandbox_type = choose_sandbox(self._default_sandbox, context.sandbox, spec.sandbox)
        backend = self._sandboxes.get(sandbox_type)
        if backend is None:
            raise SandboxUnavailableError(
                f"The {sandbox_type} sandbox is not available on this server (available: "
                f"{', '.join(self.available())})",
                op="sandbox.choose",
                retryable=False,
            )
        choice = await self._configs.choice_for(context.actor, sandbox_type)
        invocation = ToolInvocation(
            name=spec.name,
            source_code=spec.source_code,
            args=call.args,
            tenant=context.actor.organization_id,
            json_schema=spec.json_schema,
            args_json_schema=spec.args_json_schema,
            pip_requirements=spec.pip_requirements,
            env=merge_environment(self._server_env, choice.env, context.agent_env, context.call_env),
            agent_state=context.agent,
            timeout_s=spec.timeout_s,
        )
        result = await _run_in(backend, choice, invocation)
        secrets = tuple(choice.env.values())
        if result.cause is not None and not isinstance(result.cause, TOOL_DEFINITION_ERRORS):
            redact = _Redactor((*secrets, *context.agent_env.values()))
            raise _sandbox_unavailable(sandbox_type, spec.name, result.cause, redact) from result.cause
        return _Ran(result, secrets)

    async def _run_mcp(self, call: ToolCall, context: ExecutionContext) -> _Ran:
        target = call.spec.mcp or MCPTarget(server_name="", tool_name=call.spec.name)
        started = time.perf_counter()
        answer = await self.mcp.call(context.actor.organization_id, target, call.args)
        result = ExecutionResult(
            status=answer.status,
            func_return=answer.text,
            duration_ms=(time.perf_counter() - started) * 1000,
            error=None if answer.status == "success" else answer.text,
        )
        return _Ran(result)

    async def close(self) -> None:
        for backend in self._sandboxes.values():
            await backend.close()
        await self.mcp.close()


async def _run_in(backend: Sandbox, choice: SandboxChoice, invocation: ToolInvocation) -> ExecutionResult:
    """The backend's result under its own typed config; a `SandboxError` it raises instead of reporting becomes the
    result's cause."""
    try:
        config = backend.config_model.model_validate(dict(choice.config))
    except ValidationError as exc:  # a row written before a bound was added
        raise InvalidInputError(f"The stored {choice.sandbox_type} sandbox config is invalid: {exc}") from None
    try:
        return await backend.run(invocation, config)
    except SandboxError as exc:
        return ExecutionResult.failure(invocation.name, type(exc).__name__, str(exc), cause=exc)


async def _run_builtin(call: ToolCall, context: ExecutionContext) -> _Ran:
    """`web_search` and `run_code` need no agent, so `POST /v1/tools/{id}/run` runs them here, in-process."""
    name = call.spec.name
    if name not in BUILTIN_TOOLS:
        return await _runs_in_agent_step(call, context)
    started = time.perf_counter()
    try:
        text = await call_builtin(name, {**context.agent_env, **context.call_env}, call.args)
    except (TypeError, ValueError) as exc:
        return _Ran(ExecutionResult.failure(name, type(exc).__name__, str(exc)))
    return _Ran(ExecutionResult(status="success", func_return=text, duration_ms=(time.perf_counter() - started) * 1000))


async def _runs_in_agent_step(call: ToolCall, _context: ExecutionContext) -> _Ran:
    spec = call.spec
    return _Ran(
        ExecutionResult.failure(
            spec.name,
            "NotImplementedError",
            f"{spec.name} is a {spec.tool_type} tool; it runs inside an agent step, which this server cannot run yet",
        )
    )


def _sandbox_unavailable(
    sandbox_type: str, name: str, cause: SandboxError, redact: "_Redactor"
) -> SandboxUnavailableError:
    """Worker died or could not start, pool exhausted, engine down: the same call may work later. Configuration
    the server cannot run here (no confinement, no firewall, a bad sandbox_dir, a closed sandbox) will not."""
    retryable = type(cause) is not SandboxError and not isinstance(cause, FirewallError)
    message = redact(f"The {sandbox_type} sandbox could not run {name!r}: {type(cause).__name__}: {cause}")
    return SandboxUnavailableError(message, op="sandbox.run", retryable=retryable)


def _outcome(spec: ToolSpec, result: ExecutionResult, redact: "_Redactor") -> ToolOutcome:
    """Redacted before truncation, so that a cut never leaves part of a secret behind."""
    return ToolOutcome(
        name=spec.name,
        status=result.status,
        text=truncated(redact(model_text(result.func_return)), spec.return_char_limit),
        stdout=redact(result.stdout),
        stderr=redact(result.stderr),
        duration_ms=result.duration_ms,
        memory_edits=dict(result.memory_edits),
    )


class _Redactor:
    """Replaces each secret value (longest first, so one that contains another goes whole) with `[REDACTED]`."""

    def __init__(self, secrets: Collection[str]) -> None:
        values = sorted({value for value in secrets if len(value) >= MIN_SECRET_CHARS}, key=len, reverse=True)
        self._pattern = re.compile("|".join(map(re.escape, values))) if values else None

    def __call__(self, text: str) -> str:
        return text if self._pattern is None or not text else self._pattern.sub(REDACTED, text)
