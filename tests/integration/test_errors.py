"""One error body shape over HTTP: `{"detail", "code"}` (+ `"retryable": true`), `x-should-retry: false` on final
client errors, a 503 for infrastructure failures. The app runs in-process on injected services (a fake sandbox)."""

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from toolhub.config.settings import Settings
from toolhub.sandbox.base import ExecutionResult, ToolInvocation
from toolhub.sandbox.config_models import LocalSandboxConfig
from toolhub.sandbox.worker import WorkerError
from toolhub.server.app import build_services, create_app
from toolhub.store.db import Database

ECHO = 'def echo(x: str) -> str:\n    """Echo.\n\n    Args:\n        x: The text.\n    """\n    return x\n'


class FlakySandbox:
    """Its worker dies on inputs that say so; otherwise the tool raises or returns."""

    config_model = LocalSandboxConfig

    async def run(self, invocation: ToolInvocation, config: Any = None) -> ExecutionResult:
        if invocation.args.get("x") == "die":
            raise WorkerError("the worker stopped while 1 call was in flight")
        if invocation.args.get("x") == "raise":
            return ExecutionResult.failure(invocation.name, "ValueError", "the tool said no")
        return ExecutionResult(status="success", func_return=invocation.args.get("x"))

    async def close(self) -> None:
        pass


@pytest.fixture
async def http(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(home=tmp_path, database_url=f"sqlite+aiosqlite:///{tmp_path / 'toolhub.db'}")
    services = build_services(settings, Database(settings.effective_database_url), sandboxes={"local": FlakySandbox()})
    app = create_app(settings, services=services)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://toolhub.test") as client:
            yield client


async def test_infrastructure_failure_is_a_retryable_503(http: httpx.AsyncClient) -> None:
    response = await http.post("/v1/tools/run", json={"source_code": ECHO, "args": {"x": "die"}})
    assert response.status_code == 503
    body = response.json()
    assert body["code"] == "sandbox_unavailable" and body["retryable"] is True
    assert "WorkerError" in body["detail"]
    assert "x-should-retry" not in response.headers


async def test_a_failing_tool_is_still_a_200_result(http: httpx.AsyncClient) -> None:
    response = await http.post("/v1/tools/run", json={"source_code": ECHO, "args": {"x": "raise"}})
    assert response.status_code == 200
    assert response.json()["status"] == "error"
    assert response.json()["tool_return"] == "Error executing function echo: ValueError: the tool said no"


async def test_stored_tool_runs_through_the_same_door(http: httpx.AsyncClient) -> None:
    tool = (await http.post("/v1/tools", json={"source_code": ECHO})).json()
    ok = await http.post(f"/v1/tools/{tool['id']}/run", json={"args": {"x": "hi"}})
    assert ok.status_code == 200 and ok.json()["tool_return"] == "hi"
    died = await http.post(f"/v1/tools/{tool['id']}/run", json={"args": {"x": "die"}})
    assert died.status_code == 503 and died.json()["code"] == "sandbox_unavailable"


async def test_not_found_is_final_and_coded(http: httpx.AsyncClient) -> None:
    response = await http.get("/v1/tools/tool-does-not-exist")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found" and isinstance(response.json()["detail"], str)
    assert "retryable" not in response.json()
    assert response.headers["x-should-retry"] == "false"


async def test_conflict_is_final_and_names_what_clashed(http: httpx.AsyncClient) -> None:
    assert (await http.post("/v1/tools", json={"source_code": ECHO})).status_code == 200
    again = await http.post("/v1/tools", json={"source_code": ECHO})
    assert again.status_code == 409
    assert again.json() == {"detail": "Tool with this name already exists.", "code": "conflict"}
    assert again.headers["x-should-retry"] == "false"

    config = (await http.post("/v1/sandbox-config/local/default")).json()
    base = f"/v1/sandbox-config/{config['id']}/environment-variable"
    assert (await http.post(base, json={"key": "API_TOKEN", "value": "one"})).status_code == 200
    clash = await http.post(base, json={"key": "API_TOKEN", "value": "two"})
    assert clash.status_code == 409 and "API_TOKEN" in clash.json()["detail"]
    assert clash.json()["code"] == "conflict" and clash.headers["x-should-retry"] == "false"


async def test_validation_errors_keep_fastapis_detail_and_add_a_code(http: httpx.AsyncClient) -> None:
    response = await http.post("/v1/tools/run", json={"source_code": ECHO, "args": [1]})
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "validation_error"
    assert isinstance(body["detail"], list) and body["detail"][0]["loc"][-1] == "args"
    assert response.headers["x-should-retry"] == "false"


async def test_bad_input_is_a_coded_400(http: httpx.AsyncClient) -> None:
    response = await http.post("/v1/tools/run", json={"source_code": "def broken(:", "args": {}})
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_input" and response.headers["x-should-retry"] == "false"


async def test_unknown_route_uses_the_same_shape(http: httpx.AsyncClient) -> None:
    response = await http.get("/v1/nothing-here")
    assert response.status_code == 404 and response.json() == {"detail": "Not Found", "code": "not_found"}


async def test_mcp_errors_keep_lettas_detail_and_add_a_code(http: httpx.AsyncClient) -> None:
    response = await http.get("/v1/tools/mcp/servers/nope/tools")
    assert response.status_code == 404
    body = response.json()
    assert body["code"] == "not_found" and body["detail"]["code"] == "MCPServerNotFoundError"
