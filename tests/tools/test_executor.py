"""`ToolExecutor.execute` in-process, with fake backends: what a tool did is a result, what the infrastructure did
is a typed error; truncation, redaction, environment precedence and the sandbox choice."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from toolhub.errors import (
    InvalidInputError,
    SandboxUnavailableError,
    ToolInfrastructureError,
    ToolServerNotFoundError,
    ToolServerUnreachableError,
)
from toolhub.mcp_bridge.options import BridgeOptions
from toolhub.mcp_bridge.results import MCPCallResult
from toolhub.sandbox.base import ExecutionResult, SandboxError, ToolInvocation
from toolhub.sandbox.config_models import LocalSandboxConfig
from toolhub.sandbox.docker.engine import DockerSandboxError
from toolhub.sandbox.docker.pool import PoolExhaustedError
from toolhub.sandbox.firewall import FirewallError
from toolhub.sandbox.requirements import InvalidRequirementError
from toolhub.sandbox.uv import InstallError
from toolhub.sandbox.worker import WorkerError
from toolhub.store.models import Tool as ToolRow
from toolhub.store.repositories import Actor
from toolhub.tools.executor import (
    REDACTED,
    ExecutionContext,
    ToolExecutor,
    truncation_note,
)
from toolhub.tools.mcp_hub import MCPHub
from toolhub.tools.sandbox_choice import SandboxChoice
from toolhub.tools.spec import MCPTarget, ToolCall, ToolSpec

ACTOR = Actor(user_id="user-1", organization_id="org-1")
TOOL = ToolSpec(name="probe", source_code="def probe() -> str:\n    return 'x'\n")


@dataclass
class FakeSandbox:
    """Answers every call with `result`, or raises `error`; remembers what it was given (under its config, which
    it applies as the real backends do)."""

    config_model = LocalSandboxConfig
    result: ExecutionResult = field(default_factory=lambda: ExecutionResult(status="success", func_return="ok"))
    error: Exception | None = None
    calls: list[ToolInvocation] = field(default_factory=list)

    async def run(self, invocation: ToolInvocation, config: Any = None) -> ExecutionResult:
        self.calls.append(invocation if config is None else config.applied_to(invocation))
        if self.error is not None:
            raise self.error
        return self.result

    async def close(self) -> None:
        pass


class ReportingSandbox(FakeSandbox):
    """Reports a `SandboxError` as an error result, the way the real backends do."""

    async def run(self, invocation: ToolInvocation, config: Any = None) -> ExecutionResult:
        self.calls.append(invocation if config is None else config.applied_to(invocation))
        try:
            raise self.error or SandboxError("no error given")
        except SandboxError as exc:
            return ExecutionResult.failure(invocation.name, type(exc).__name__, str(exc), cause=exc)


@dataclass
class FakeConfigs:
    env: Mapping[str, str] = field(default_factory=dict)
    config: Mapping[str, Any] = field(default_factory=dict)

    async def choice_for(self, actor: Actor, sandbox_type: str) -> SandboxChoice:
        return SandboxChoice(sandbox_type=sandbox_type, config=self.config, env=self.env)


@dataclass
class FakeToolServers:
    answer: MCPCallResult = field(default_factory=lambda: MCPCallResult(status="success", text="from mcp"))
    error: Exception | None = None

    async def call(self, organization_id: str, target: MCPTarget, args: Mapping[str, Any]) -> MCPCallResult:
        if self.error is not None:
            raise self.error
        return self.answer

    async def close(self) -> None:
        pass


def executor(
    sandboxes: Mapping[str, FakeSandbox] | None = None,
    *,
    configs: FakeConfigs | None = None,
    mcp: FakeToolServers | None = None,
    server_env: Mapping[str, str] | None = None,
    default_sandbox: str = "local",
) -> ToolExecutor:
    return ToolExecutor(
        sandboxes if sandboxes is not None else {"local": FakeSandbox()},
        mcp or FakeToolServers(),
        configs=configs or FakeConfigs(),
        default_sandbox=default_sandbox,
        server_env={} if server_env is None else server_env,
    )


def context(**fields: Any) -> ExecutionContext:
    return ExecutionContext(actor=ACTOR, **fields)


# ---- infrastructure failures are typed errors ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("failure", "retryable"),
    [
        (WorkerError("the worker stopped while 1 call was in flight"), True),
        (PoolExhaustedError("every container stayed busy for 60 s"), True),
        (DockerSandboxError("could not connect to the Docker engine: connection refused"), True),
        (SandboxError("the local sandbox cannot confine tools here: no user namespaces"), False),
        (FirewallError("iptables is not installed"), False),
    ],
    ids=["worker-died", "pool-exhausted", "engine-down", "cannot-confine", "no-firewall"],
)
@pytest.mark.parametrize("backend", [FakeSandbox, ReportingSandbox], ids=["raised", "reported"])
async def test_infrastructure_failure_is_a_typed_error_not_a_result(
    failure: SandboxError, retryable: bool, backend: type[FakeSandbox]
) -> None:
    tools = executor({"local": backend(error=failure)})
    with pytest.raises(SandboxUnavailableError) as caught:
        await tools.execute(ToolCall(spec=TOOL), context())
    error = caught.value
    assert error.code == "sandbox_unavailable" and error.status_code == 503
    assert error.retryable is retryable and error.op == "sandbox.run"
    assert type(failure).__name__ in str(error) and error.__cause__ is failure


async def test_a_sandbox_this_server_lacks_is_unavailable_for_good() -> None:
    tools = executor({"local": FakeSandbox()})
    with pytest.raises(SandboxUnavailableError) as caught:
        await tools.execute(ToolCall(spec=ToolSpec(name="probe", sandbox="e2b")), context())
    assert caught.value.retryable is False and "e2b" in str(caught.value)


async def test_mcp_server_unreachable_is_a_typed_error() -> None:
    unreachable = ToolServerUnreachableError("MCP server 'weather' is unreachable: refused", op="mcp.call")
    tools = executor(mcp=FakeToolServers(error=unreachable))
    spec = ToolSpec(name="forecast", tool_type="external_mcp", mcp=MCPTarget(server_name="weather", tool_name="f"))
    with pytest.raises(ToolInfrastructureError) as caught:
        await tools.execute(ToolCall(spec=spec), context())
    assert caught.value.code == "tool_server_unreachable" and caught.value.retryable is True


async def test_hub_reports_unknown_and_unhealthy_servers_as_typed_errors(tmp_path: Path) -> None:
    hub = MCPHub(BridgeOptions(), tmp_path / "mcp_config.json")
    target = MCPTarget(server_name="gone", tool_name="f")
    with pytest.raises(ToolServerNotFoundError) as caught:
        await hub.call("org-1", target, {})
    assert caught.value.code == "tool_server_not_found" and caught.value.retryable is False

    manager = hub.org("org-1")

    @dataclass
    class Unhealthy:
        state: str = "unhealthy"
        last_error: str = "connection refused"

    manager.configs = lambda: {"gone": object()}  # type: ignore[method-assign]
    manager.status = lambda name: Unhealthy()  # type: ignore[method-assign]
    with pytest.raises(ToolServerUnreachableError) as unreachable:
        await hub.call("org-1", target, {})
    assert "connection refused" in str(unreachable.value) and unreachable.value.retryable is True


# ---- what the tool did is a result ---------------------------------------------------------------------------------


async def test_a_tool_that_raises_is_a_result() -> None:
    raised = ExecutionResult.failure("probe", "ValueError", "boom", stderr="Traceback ...")
    outcome = await executor({"local": FakeSandbox(result=raised)}).execute(ToolCall(spec=TOOL), context())
    assert outcome.status == "error"
    assert outcome.text == "Error executing function probe: ValueError: boom"
    assert outcome.stderr == "Traceback ..."


@pytest.mark.parametrize(
    "failure",
    [InstallError("no matching distribution for nosuchpkg"), InvalidRequirementError("'a b' is not a requirement")],
)
async def test_requirements_that_do_not_install_are_results(failure: SandboxError) -> None:
    outcome = await executor({"local": ReportingSandbox(error=failure)}).execute(ToolCall(spec=TOOL), context())
    assert outcome.status == "error" and type(failure).__name__ in outcome.text


async def test_base_tools_say_they_run_inside_an_agent_step() -> None:
    spec = ToolSpec(name="send_message", tool_type="letta_core")
    outcome = await executor().execute(ToolCall(spec=spec), context())
    assert outcome.status == "error" and "runs inside an agent step" in outcome.text


async def test_mcp_tool_answer_is_a_result() -> None:
    tools = executor(mcp=FakeToolServers(answer=MCPCallResult(status="error", text="city not found")))
    spec = ToolSpec(name="forecast", tool_type="external_mcp", mcp=MCPTarget(server_name="weather", tool_name="f"))
    outcome = await tools.execute(ToolCall(spec=spec), context())
    assert outcome.status == "error" and outcome.text == "city not found"


# ---- shaping: truncation and redaction -----------------------------------------------------------------------------


async def test_return_value_is_truncated_with_lettas_note() -> None:
    long = ExecutionResult(status="success", func_return="x" * 100)
    spec = ToolSpec(name="big", return_char_limit=10)
    outcome = await executor({"local": FakeSandbox(result=long)}).execute(ToolCall(spec=spec), context())
    assert outcome.text == "x" * 10 + truncation_note(100, 10)


async def test_non_string_returns_are_json() -> None:
    value = ExecutionResult(status="success", func_return={"a": [1, "é"]})
    outcome = await executor({"local": FakeSandbox(result=value)}).execute(ToolCall(spec=TOOL), context())
    assert outcome.text == '{"a": [1, "é"]}'


async def test_secrets_are_redacted_from_return_value_stdout_and_stderr() -> None:
    config_secret, agent_secret, call_value = "cfg-secret-123", "agent-secret-456", "call-visible-789"
    leaky = ExecutionResult(
        status="success",
        func_return={"token": config_secret, "short": "abc"},
        stdout=f"using {config_secret} and {agent_secret}\n",
        stderr=f"{config_secret} {call_value} abc",
    )
    tools = executor(
        {"local": FakeSandbox(result=leaky)}, configs=FakeConfigs(env={"API_TOKEN": config_secret, "SHORT": "abc"})
    )
    outcome = await tools.execute(
        ToolCall(spec=TOOL),
        context(agent_env={"AGENT_KEY": agent_secret}, call_env={"MINE": call_value}),
    )
    assert outcome.text == f'{{"token": "{REDACTED}", "short": "abc"}}'
    assert outcome.stdout == f"using {REDACTED} and {REDACTED}\n"
    assert outcome.stderr == f"{REDACTED} {call_value} abc"  # the call's own values and short values stay


async def test_secrets_are_redacted_before_truncation() -> None:
    secret = "cfg-secret-123"
    result = ExecutionResult(status="success", func_return="x" * 8 + secret)
    tools = executor({"local": FakeSandbox(result=result)}, configs=FakeConfigs(env={"TOKEN": secret}))
    outcome = await tools.execute(ToolCall(spec=ToolSpec(name="cut", return_char_limit=12)), context())
    assert "cfg-" not in outcome.text and outcome.text.startswith("x" * 8 + "[RED")


async def test_infrastructure_error_messages_are_redacted_too() -> None:
    secret = "cfg-secret-123"
    failing = FakeSandbox(error=WorkerError(f"worker stderr: {secret}"))
    tools = executor({"local": failing}, configs=FakeConfigs(env={"TOKEN": secret}))
    with pytest.raises(SandboxUnavailableError) as caught:
        await tools.execute(ToolCall(spec=TOOL), context())
    assert secret not in str(caught.value) and REDACTED in str(caught.value)


# ---- environment and sandbox choice --------------------------------------------------------------------------------


async def test_environment_precedence_server_config_agent_call() -> None:
    local = FakeSandbox()
    tools = executor(
        {"local": local},
        configs=FakeConfigs(env={"A": "config", "B": "config", "C": "config", "LANG": "config"}),
        server_env={"PATH": "/srv/bin", "LANG": "C.UTF-8", "OPENAI_API_KEY": "sk-server"},
    )
    await tools.execute(
        ToolCall(spec=TOOL), context(agent_env={"B": "agent", "C": "agent"}, call_env={"C": "call"})
    )
    assert dict(local.calls[0].env) == {"PATH": "/srv/bin", "LANG": "config", "A": "config", "B": "agent", "C": "call"}


async def test_server_environment_is_captured_at_construction(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Europe/Paris")
    monkeypatch.setenv("SERVER_ONLY_SECRET", "hunter2-hunter2")
    local = FakeSandbox()
    tools = ToolExecutor({"local": local}, FakeToolServers(), configs=FakeConfigs())  # reads os.environ now
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    monkeypatch.setenv("LC_ALL", "C")
    await tools.execute(ToolCall(spec=TOOL), context())
    env = local.calls[0].env
    assert env["TZ"] == "Europe/Paris" and "LC_ALL" not in env and "SERVER_ONLY_SECRET" not in env


@pytest.mark.parametrize(
    ("agent_choice", "tool_choice", "expected"),
    [(None, None, "local"), ("docker", None, "docker"), ("docker", "local", "local"), (None, "docker", "docker")],
)
async def test_sandbox_choice_server_then_agent_then_tool(
    agent_choice: str | None, tool_choice: str | None, expected: str
) -> None:
    backends = {"local": FakeSandbox(), "docker": FakeSandbox()}
    spec = ToolSpec(name="probe", sandbox=tool_choice)
    await executor(backends).execute(ToolCall(spec=spec), context(sandbox=agent_choice))
    assert [name for name, backend in backends.items() if backend.calls] == [expected]


async def test_unknown_sandbox_choice_is_invalid_input() -> None:
    with pytest.raises(InvalidInputError):
        await executor().execute(ToolCall(spec=ToolSpec(name="probe", sandbox="lambda")), context())


async def test_sandbox_config_limits_and_tool_timeout_reach_the_invocation() -> None:
    local = FakeSandbox()
    tools = executor({"local": local}, configs=FakeConfigs(config={"timeout": 5, "pip_requirements": [{"name": "six"}]}))
    await tools.execute(ToolCall(spec=ToolSpec(name="probe", pip_requirements=("attrs",))), context())
    await tools.execute(ToolCall(spec=ToolSpec(name="probe", timeout_s=2.5)), context())
    assert local.calls[0].limits.timeout_s == 5 and local.calls[0].pip_requirements == ("six", "attrs")
    assert local.calls[1].limits.timeout_s == 2.5


def test_spec_from_row_ignores_metadata_of_the_wrong_type() -> None:
    row = ToolRow(
        id="tool-1",
        name="probe",
        tool_type="custom",
        source_code="def probe(): ...",
        return_char_limit=100,
        metadata_={"sandbox": ["docker"], "timeout": "soon", "mcp": "x"},
    )
    spec = ToolSpec.from_row(row)
    assert spec.sandbox is None and spec.timeout_s is None and spec.mcp is None
    assert spec.id == "tool-1" and spec.return_char_limit == 100


def test_routers_only_build_calls_and_contexts() -> None:
    """Sandbox choice, environment and truncation live behind the executor; no router does them itself."""
    routers = Path(__file__).resolve().parents[2] / "toolhub" / "server" / "routers"
    for path in routers.glob("*.py"):
        source = path.read_text()
        for banned in ("os.environ", "sandbox_type_for", "return_text", "merge_environment", "ToolInvocation"):
            assert banned not in source, f"{path.name} uses {banned}"
