"""The E2B backend: custom tools run in an E2B sandbox that is reused, not created per call as Letta does.

One sandbox per agent (per sandbox config when there is no agent), kept alive with `set_timeout` before each call
and replaced when E2B reports it gone; requirements are installed once per sandbox, as `pip install` arguments
quoted with `shlex`; the call's environment goes through `envs=`; the result comes back as a JSON string literal,
never a pickle. A sandbox left unused expires on E2B's side after its config's `timeout`; `close()` kills the rest.
"""

import ast
import asyncio
import hashlib
import json
import os
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from toolhub.integrations.e2b_connection import connection_options
from toolhub.integrations.keys import BuiltinToolError
from toolhub.sandbox.base import SERVER_ENV_ALLOWED, ExecutionResult, SandboxError, ToolInvocation
from toolhub.sandbox.config_models import E2BSandboxConfig, requirement_strings
from toolhub.sandbox.requirements import normalize_all
from toolhub.sandbox.uv import InstallError

_CALL = """
def _toolhub_call():
    import json
    namespace = {{"__name__": "__toolhub_tool__"}}
    exec(compile({source!r}, "<tool>", "exec"), namespace)
    value = namespace[{name!r}](**json.loads({args!r}))
    try:
        return json.dumps({{"value": value}})
    except (TypeError, ValueError):
        return json.dumps({{"value": str(value)}})
_toolhub_call()
"""
"""Runs the tool in its own namespace; the kernel's last expression is the JSON text (Jupyter shows its repr)."""


class E2BError(SandboxError):
    """E2B refused or failed to give a sandbox: worth retrying, unlike a missing key (a plain SandboxError)."""


@dataclass
class _Live:
    sandbox: Any
    installed: set[str] = field(default_factory=set)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class E2BSandbox:
    """Keeps the sandboxes it created until `close()`; the key and endpoints are read from the server's environment
    on each creation, so a missing key fails the call, not the server's start."""

    config_model: ClassVar[type[E2BSandboxConfig]] = E2BSandboxConfig

    def __init__(self) -> None:
        self._live: dict[str, _Live] = {}
        self._guard = asyncio.Lock()

    async def run(self, invocation: ToolInvocation, config: E2BSandboxConfig | None = None) -> ExecutionResult:
        config = config or E2BSandboxConfig()
        try:
            requirements = normalize_all((*requirement_strings(config.pip_requirements), *invocation.pip_requirements))
            live = await self._sandbox(_owner(invocation, config), config)
            async with live.lock:
                await _install(live, requirements)
                execution = await live.sandbox.run_code(
                    _CALL.format(source=invocation.source_code, name=invocation.name,
                                 args=json.dumps(dict(invocation.args))),
                    envs=_tool_env(invocation.env),
                    timeout=invocation.timeout_s or invocation.limits.timeout_s,
                )
        except SandboxError as exc:
            return ExecutionResult.failure(invocation.name, type(exc).__name__, str(exc), cause=exc)
        except Exception as exc:  # noqa: BLE001 - the SDK's timeouts and transport errors end this call only
            return ExecutionResult.failure(invocation.name, type(exc).__name__, str(exc))
        return _result(invocation.name, execution)

    async def close(self) -> None:
        live, self._live = list(self._live.values()), {}
        await asyncio.gather(*(entry.sandbox.kill() for entry in live), return_exceptions=True)

    async def _sandbox(self, owner: str, config: E2BSandboxConfig) -> _Live:
        """The owner's sandbox, its lifetime renewed; a new one when there is none or E2B says it is gone."""
        async with self._guard:
            live = self._live.get(owner)
            if live is not None:
                try:
                    await live.sandbox.set_timeout(config.timeout)
                    return live
                except Exception:  # noqa: BLE001 - expired, killed or unknown: all mean start a new one
                    del self._live[owner]
            live = _Live(await _create(owner, config))
            self._live[owner] = live
            return live


async def _create(owner: str, config: E2BSandboxConfig) -> Any:
    from e2b_code_interpreter import AsyncSandbox

    try:
        options = connection_options({})
    except BuiltinToolError as exc:
        raise SandboxError(str(exc)) from exc
    template = config.template or os.environ.get("E2B_SANDBOX_TEMPLATE_ID") or None
    try:
        return await AsyncSandbox.create(
            template=template, timeout=config.timeout, metadata={"toolhub_owner": owner}, **options
        )
    except Exception as exc:  # noqa: BLE001 - every API refusal is an unavailable sandbox
        raise E2BError(f"could not start an E2B sandbox: {exc}") from exc


async def _install(live: _Live, requirements: tuple[str, ...]) -> None:
    missing = [req for req in requirements if req not in live.installed]
    if not missing:
        return
    try:
        await live.sandbox.commands.run(shlex.join(["pip", "install", *missing]), timeout=600)
    except Exception as exc:  # noqa: BLE001 - CommandExitException and transport errors alike
        raise InstallError(f"pip install {' '.join(missing)} failed: {exc}") from exc
    live.installed.update(missing)


def _owner(invocation: ToolInvocation, config: E2BSandboxConfig) -> str:
    """Whose sandbox a call uses: its agent's, else one per tenant and config (same config, same sandbox)."""
    if invocation.agent_state is not None:
        return f"{invocation.tenant}/agent/{invocation.agent_state.id}"
    digest = hashlib.sha256(config.model_dump_json().encode()).hexdigest()[:16]
    return f"{invocation.tenant}/config/{digest}"


def _tool_env(env: Mapping[str, str]) -> dict[str, str]:
    """The call's variables without the server's own PATH/LANG/...: the sandbox has its own."""
    return {key: value for key, value in env.items() if key not in SERVER_ENV_ALLOWED or os.environ.get(key) != value}


def _result(name: str, execution: Any) -> ExecutionResult:
    stdout, stderr = "".join(execution.logs.stdout), "".join(execution.logs.stderr)
    if execution.error is not None:
        error = execution.error
        return ExecutionResult.failure(name, error.name, error.value, stdout=stdout,
                                       stderr=stderr + error.traceback)
    texts = [result.text for result in execution.results if result.text is not None]
    if not texts:
        return ExecutionResult.failure(name, "ValueError", "the sandbox returned no result", stdout=stdout,
                                       stderr=stderr)
    try:
        value = json.loads(ast.literal_eval(texts[-1]))["value"]
    except (ValueError, SyntaxError, TypeError, KeyError):
        unreadable = f"the sandbox returned an unreadable result: {texts[-1][:200]!r}"
        return ExecutionResult.failure(name, "ValueError", unreadable, stdout=stdout, stderr=stderr)
    return ExecutionResult(status="success", func_return=value, stdout=stdout, stderr=stderr)
