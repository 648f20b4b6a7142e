"""The E2B backend through the real `e2b-code-interpreter` SDK against the local E2B server."""

import pytest

from tests.fakes.e2b_server import FakeE2B
from toolhub.config.settings import Settings
from toolhub.sandbox.base import AgentSnapshot, SandboxError, ToolInvocation
from toolhub.sandbox.config_models import E2BSandboxConfig
from toolhub.sandbox.e2b import E2BError, E2BSandbox, _result
from toolhub.sandbox.uv import InstallError

SOURCE = '''def greet(name: str) -> dict:
    """Greet with the token from the environment."""
    import os
    print("greeting", name)
    return {"greeting": f"hello {name}", "token": os.environ.get("TOKEN"), "path": os.environ.get("PATH")}
'''
FAILING = '''def boom() -> None:
    """Always fails."""
    raise RuntimeError("kaboom")
'''


def call(agent: str | None = "agent-1", source: str = SOURCE, name: str = "greet", **fields) -> ToolInvocation:
    snapshot = AgentSnapshot(id=agent, name="a") if agent else None
    args = {"name": "ada"} if name == "greet" else {}
    defaults = {"env": {"TOKEN": "t-1", "PATH": "/server/bin"}, "pip_requirements": ("cowsay",)}
    return ToolInvocation(name=name, source_code=source, args=args, tenant="org-1", agent_state=snapshot,
                          **{**defaults, **fields})


@pytest.fixture
async def backend(e2b: FakeE2B, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("E2B_API_KEY", e2b.api_key)
    monkeypatch.setenv("PATH", "/server/bin")
    sandbox = E2BSandbox()
    yield sandbox
    await sandbox.close()


async def test_five_calls_share_one_sandbox_with_requirements_installed_once(backend: E2BSandbox, e2b: FakeE2B):
    config = E2BSandboxConfig(timeout=120, pip_requirements=["requests==2.32.3"])
    results = [await backend.run(call(), config) for _ in range(5)]
    assert [r.status for r in results] == ["success"] * 5
    assert results[0].func_return == {"greeting": "hello ada", "token": "t-1", "path": "/usr/bin:/bin"}  # its own
    assert results[0].stdout == "greeting ada\n"
    (box,) = e2b.sandboxes.values()
    assert box.commands == ["pip install cowsay requests==2.32.3"]
    assert box.timeout == 120 and box.timeouts == [120] * 4
    assert [run["env_vars"] for run in box.executions] == [{"TOKEN": "t-1"}] * 5
    assert box.metadata == {"toolhub_owner": "org-1/agent/agent-1"}


async def test_a_dead_sandbox_is_replaced_transparently(backend: E2BSandbox, e2b: FakeE2B):
    assert (await backend.run(call())).status == "success"
    (first,) = e2b.sandboxes
    e2b.die(first)
    again = await backend.run(call())
    assert again.status == "success"
    assert len(e2b.sandboxes) == 2
    (second,) = [box for box in e2b.alive()]
    assert second.id != first and second.commands == ["pip install cowsay"]


async def test_each_agent_has_its_own_sandbox_and_agentless_calls_share_one_per_config(
    backend: E2BSandbox, e2b: FakeE2B
):
    for agent in ("a", "b", None, None):
        assert (await backend.run(call(agent))).status == "success"
    assert len(e2b.sandboxes) == 3


async def test_close_kills_every_sandbox(backend: E2BSandbox, e2b: FakeE2B):
    await backend.run(call("a"))
    await backend.run(call("b"))
    await backend.close()
    assert e2b.alive() == []


async def test_a_failing_tool_is_an_error_result_with_its_traceback(backend: E2BSandbox):
    result = await backend.run(call(source=FAILING, name="boom"))
    assert result.status == "error"
    assert result.error == "Error executing function boom: RuntimeError: kaboom"
    assert "kaboom" in result.stderr and result.cause is None


async def test_a_failed_install_is_an_install_error_and_is_retried_next_time(backend: E2BSandbox, e2b: FakeE2B):
    e2b.broken.add("no-such-package")
    result = await backend.run(call(pip_requirements=("no-such-package",)))
    assert result.status == "error" and isinstance(result.cause, InstallError)
    assert "No matching distribution found for no-such-package" in result.error
    e2b.broken.clear()
    assert (await backend.run(call(pip_requirements=("no-such-package",)))).status == "success"
    (box,) = e2b.sandboxes.values()
    assert box.commands == ["pip install no-such-package"] * 2


async def test_requirements_are_quoted_and_checked(backend: E2BSandbox, e2b: FakeE2B):
    result = await backend.run(call(pip_requirements=("cowsay; rm -rf /",)))
    assert result.status == "error" and "invalid requirement" in result.error
    assert e2b.sandboxes == {}


async def test_an_api_refusal_is_a_retryable_e2b_error(e2b: FakeE2B, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("E2B_API_KEY", "e2b_" + "9" * 40)
    result = await E2BSandbox().run(call())
    assert isinstance(result.cause, E2BError) and "Invalid API key" in result.error


async def test_without_a_key_the_call_fails_clearly(e2b: FakeE2B):
    result = await E2BSandbox().run(call())
    assert type(result.cause) is SandboxError and "E2B_API_KEY is not set" in result.error
    assert e2b.sandboxes == {}


def test_an_e2b_key_alone_does_not_make_e2b_the_default(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("E2B_API_KEY", "e2b_" + "1" * 40)
    monkeypatch.delenv("TOOLHUB_SANDBOX", raising=False)
    assert Settings().sandbox == "local"
    monkeypatch.setenv("TOOLHUB_SANDBOX", "e2b")
    assert Settings().sandbox == "e2b"


def test_a_result_that_is_not_the_json_literal_is_an_error_not_an_eval():
    class Execution:
        error = None
        results = [type("R", (), {"text": "__import__('os').system('true')"})()]
        logs = type("L", (), {"stdout": [], "stderr": []})()

    result = _result("t", Execution())
    assert result.status == "error" and "unreadable result" in result.error
