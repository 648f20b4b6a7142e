"""toolhub as an MCP server, through the `mcp` SDK's own client: over streamable HTTP in both protocol eras
(2026-07-28 and the 2025-11-25 handshake), and through `toolhub mcp-stdio` spawned by the SDK's stdio client,
against real `toolhub server` processes on SQLite and PostgreSQL."""

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager, nullcontext
from pathlib import Path
from typing import Any

import anyio
import httpx
import httpx2
import mcp_types as types
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from tests.support.mcp_servers import everything_args
from tests.support.server import ServerProcess, fresh_database_url

PASSWORD = "mcp-endpoint-password"
REPO = Path(__file__).resolve().parents[2]
TRANSPORTS = ("http", "http-legacy", "stdio", "stdio-legacy")
"""The SDK client at /mcp in the 2026-07-28 era and the handshake era, and the same two through mcp-stdio."""

ADD = '''def {name}(a: int, b: int) -> dict:
    """Add two integers; also report whether the server's environment reached the tool.

    Args:
        a (int): The first integer.
        b (int): The second integer.
    """
    import os
    return {{"sum": a + b, "home": os.environ.get("TOOLHUB_HOME")}}
'''
BOOM = '''def {name}(x: int) -> int:
    """Always raise.

    Args:
        x (int): A number for the message.
    """
    raise ValueError("boom " + str(x))
'''
ECHO = '''def {name}(text: str) -> str:
    """Echo the text.

    Args:
        text (str): What to echo.
    """
    return text
'''

Connect = Callable[..., AbstractAsyncContextManager[Client]]


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


def create_tool(http: httpx.Client, template: str, *, tags: list[str] | None = None) -> dict[str, Any]:
    response = http.post("/v1/tools", json={"source_code": template.format(name=unique("t")), "tags": tags or []})
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture(params=TRANSPORTS)
def connect(request: pytest.FixtureRequest) -> Connect:
    """Opens an SDK client on `base_url + path`, with `key` as the Bearer token (or TOOLHUB_API_KEY for stdio)."""
    transport: str = request.param

    @asynccontextmanager
    async def open_client(
        base_url: str, path: str = "/mcp", *, key: str | None = None, **options: Any
    ) -> AsyncIterator[Client]:
        mode = "legacy" if transport.endswith("-legacy") else "auto"
        async with AsyncExitStack() as stack:
            if transport.startswith("stdio"):
                server: Any = StdioServerParameters(
                    command=sys.executable,
                    args=["-m", "toolhub.cli", "mcp-stdio", "--url", base_url + path],
                    env={"TOOLHUB_API_KEY": key} if key else None,
                    cwd=REPO,
                )
            else:
                headers = {"Authorization": f"Bearer {key}"} if key else None
                http = await stack.enter_async_context(httpx2.AsyncClient(headers=headers, timeout=60))
                server = streamable_http_client(base_url + path, http_client=http)
            yield await stack.enter_async_context(Client(server, mode=mode, read_timeout_seconds=60, **options))

    return open_client


async def listed(client: Client) -> dict[str, types.Tool]:
    tools: dict[str, types.Tool] = {}
    cursor = None
    while True:
        page = await client.list_tools(cursor=cursor)
        tools.update((tool.name, tool) for tool in page.tools)
        if (cursor := page.next_cursor) is None:
            return tools


class Notices:
    """Counts `notifications/tools/list_changed` a client receives (both eras hand them to `message_handler`)."""

    def __init__(self) -> None:
        self.count = 0
        self._arrived = anyio.Event()

    async def __call__(self, message: Any) -> None:
        if isinstance(message, types.ToolListChangedNotification):
            self.count += 1
            self._arrived.set()

    async def wait(self, seconds: float) -> bool:
        with anyio.move_on_after(seconds):
            await self._arrived.wait()
        arrived, self._arrived = self._arrived.is_set(), anyio.Event()
        return arrived


def listening(client: Client) -> AbstractAsyncContextManager[Any]:
    """On 2026-07-28 change notices flow only on a `subscriptions/listen` stream; before, on the session."""
    if client.protocol_version in MODERN_PROTOCOL_VERSIONS:
        return client.listen(tools_list_changed=True)
    return nullcontext()


async def add_until_notified(http: httpx.Client, notices: Notices, tags: list[str]) -> None:
    """Add tools until one is announced. A client may miss a change made while it is still connecting (its
    stream for notices is not open yet); changes after one was announced are never missed."""
    for _ in range(20):
        create_tool(http, ECHO, tags=tags)
        if await notices.wait(1.5):
            return
    raise AssertionError("no tools/list_changed after 20 tools were added")


@pytest.fixture(scope="module")
def everything(server: ServerProcess) -> dict[str, str]:
    """The SDK-built everything.py as a stdio MCP server of the default organization, with its `add` and `fail`
    tools registered; maps the MCP tool names to the names they were registered under."""
    name = unique("everything").replace("_", "-")
    with server.client() as http:
        added = http.put(
            "/v1/tools/mcp/servers",
            json={"server_name": name, "type": "stdio", "command": sys.executable, "args": everything_args()},
        )
        assert added.status_code == 200, added.text
        registered = {}
        for tool in ("add", "fail"):
            for _ in range(300):
                response = http.post(f"/v1/tools/mcp/servers/{name}/{tool}")
                if response.status_code == 200:
                    break
                time.sleep(0.1)  # still connecting
            assert response.status_code == 200, response.text
            registered[tool] = response.json()["name"]
    return registered


@pytest.fixture(scope="module")
def secure_server(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    home = tmp_path_factory.mktemp(f"mcp-secure-{backend}")
    proc = ServerProcess(home, fresh_database_url(backend, home), TOOLHUB_SERVER_PASSWORD=PASSWORD).start()
    yield proc
    proc.stop()


def user_with_key(http: httpx.Client, name: str, organization_id: str | None = None) -> str:
    body: dict[str, Any] = {"name": name}
    if organization_id is not None:
        body["organization_id"] = organization_id
    user = http.post("/v1/admin/users", json=body).json()
    return http.post(f"/v1/admin/users/{user['id']}/api-keys", json={}).json()["key"]


async def test_custom_tool_is_listed_and_runs_in_the_sandbox(server, connect):
    with server.client() as http:
        http.get("/v1/tools")  # seeds Letta's base tools, which need an agent and are not served
        tool = create_tool(http, ADD)
    async with connect(server.base_url) as client:
        tools = await listed(client)
        served = tools[tool["name"]]
        assert served.description and served.description.startswith("Add two integers")
        assert served.input_schema["type"] == "object"
        assert set(served.input_schema["properties"]) == {"a", "b"}
        assert "send_message" not in tools and "core_memory_append" not in tools

        result = await client.call_tool(tool["name"], {"a": 2, "b": 40})
    assert result.is_error is False
    # The sandbox sees none of the server's environment (TOOLHUB_HOME is set in the server's).
    assert result.structured_content == {"sum": 42, "home": None}
    assert json.loads(result.content[0].text) == {"sum": 42, "home": None}


async def test_a_tool_that_raises_is_a_tool_error(server, connect):
    with server.client() as http:
        tool = create_tool(http, BOOM)
    async with connect(server.base_url) as client:
        result = await client.call_tool(tool["name"], {"x": 7})
        assert result.is_error is True
        assert result.content[0].text == f"Error executing function {tool['name']}: ValueError: boom 7"
        assert result.structured_content is None
        with pytest.raises(MCPError, match="Unknown tool"):
            await client.call_tool(unique("missing"), {})


async def test_mcp_tool_proxied_from_a_stdio_server(server, everything, connect):
    async with connect(server.base_url) as client:
        tools = await listed(client)
        assert set(tools[everything["add"]].input_schema["properties"]) == {"a", "b"}
        added = await client.call_tool(everything["add"], {"a": 2, "b": 40})
        failed = await client.call_tool(everything["fail"], {"message": "upstream says no"})
    assert added.is_error is False and added.content[0].text == "42"
    assert failed.is_error is True and "upstream says no" in failed.content[0].text


async def test_a_profile_serves_two_of_five_tools(server, connect):
    tag = unique("tag")
    with server.client() as http:
        tools = [create_tool(http, ECHO, tags=[tag] if i == 0 else [unique("other")]) for i in range(5)]
        body = {"name": unique("prof"), "tags": [tag], "tool_ids": [tools[3]["id"]]}
        profile = http.post("/v1/mcp-profiles", json=body)
        assert profile.status_code == 200, profile.text
    async with connect(server.base_url, f"/mcp/{body['name']}") as client:
        assert set(await listed(client)) == {tools[0]["name"], tools[3]["name"]}
        result = await client.call_tool(tools[3]["name"], {"text": "in the profile"})
        assert result.content[0].text == "in the profile"
        with pytest.raises(MCPError, match="Unknown tool"):
            await client.call_tool(tools[1]["name"], {"text": "not in the profile"})
    async with connect(server.base_url) as client:
        assert {tool["name"] for tool in tools} <= set(await listed(client))


async def test_another_users_key_sees_none_of_them(secure_server, connect):
    with secure_server.client(Authorization=f"Bearer {PASSWORD}") as admin:
        alice_key = user_with_key(admin, "alice")
        other_org = admin.post("/v1/admin/orgs", json={"name": unique("org")}).json()["id"]
        bob_key = user_with_key(admin, "bob", other_org)
    with secure_server.client(Authorization=f"Bearer {alice_key}") as alice:
        tools = [create_tool(alice, ECHO) for _ in range(2)]
    names = {tool["name"] for tool in tools}
    async with connect(secure_server.base_url, key=alice_key) as client:
        assert names <= set(await listed(client))
    async with connect(secure_server.base_url, key=bob_key) as client:
        assert not names & set(await listed(client))
        with pytest.raises(MCPError, match="Unknown tool"):
            await client.call_tool(tools[0]["name"], {"text": "not yours"})


async def test_list_changed_after_a_tool_is_added(server, connect):
    notices = Notices()
    async with connect(server.base_url, message_handler=notices) as client:
        capability = client.server_capabilities.tools
        assert capability is not None and capability.list_changed is True
        async with listening(client):
            with server.client() as http:
                await add_until_notified(http, notices, [])
                before = notices.count
                tool = create_tool(http, ECHO)
                assert await notices.wait(15)
        assert notices.count > before
        assert tool["name"] in await listed(client)


async def test_list_changed_only_when_a_profiles_own_tools_change(server, connect):
    tag = unique("tag")
    with server.client() as http:
        name = unique("prof")
        profile = http.post("/v1/mcp-profiles", json={"name": name, "tags": [tag]}).json()
        notices = Notices()
        async with connect(server.base_url, f"/mcp/{name}", message_handler=notices) as client:
            async with listening(client):
                await add_until_notified(http, notices, [tag])
                create_tool(http, ECHO, tags=[unique("elsewhere")])
                assert not await notices.wait(3), "told of a change outside the profile"
                create_tool(http, ECHO, tags=[tag])
                assert await notices.wait(15)
                # Editing the profile changes what it serves, too.
                assert http.patch(f"/v1/mcp-profiles/{profile['id']}", json={"tags": []}).status_code == 200
                assert await notices.wait(15)
                assert await listed(client) == {}


def initialize(http: httpx.Client, headers: dict[str, str]) -> httpx.Response:
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}},
    }
    return http.post("/mcp", json=body, headers={"Accept": "application/json, text/event-stream", **headers})


def test_credentials_are_required_and_sessions_stay_with_their_owner(secure_server):
    with secure_server.client(Authorization=f"Bearer {PASSWORD}") as admin:
        alice_key = user_with_key(admin, "alice")
        bob_key = user_with_key(admin, "bob")
    with secure_server.client() as http:
        missing = initialize(http, {})
        assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"
        assert initialize(http, {"Authorization": "Bearer thk_wrong"}).status_code == 401
        opened = initialize(http, {"Authorization": f"Bearer {alice_key}"})
        assert opened.status_code == 200, opened.text
        session = opened.headers["mcp-session-id"]
        listing = {"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {}}
        headers = {"Accept": "application/json, text/event-stream", "mcp-session-id": session}
        as_bob = http.post("/mcp", json=listing, headers={**headers, "Authorization": f"Bearer {bob_key}"})
        assert as_bob.status_code == 404
        as_alice = http.post("/mcp", json=listing, headers={**headers, "Authorization": f"Bearer {alice_key}"})
        assert as_alice.status_code == 200
    assert alice_key not in secure_server.log() and bob_key not in secure_server.log()


def test_browser_origins_are_refused_without_a_password(client):
    refused = initialize(client, {"Origin": "http://evil.example"})
    assert refused.status_code == 403 and "TOOLHUB_SERVER_PASSWORD" in refused.json()["detail"]
    assert initialize(client, {"Origin": "http://localhost:6274"}).status_code == 200


def test_unknown_profile_is_404(client):
    response = client.post(f"/mcp/{unique('nope')}", json={}, headers={"Accept": "application/json"})
    assert response.status_code == 404 and "MCP profile" in response.json()["detail"]


async def test_calls_are_logged_without_their_arguments(server):
    secret = unique("secret-argument")
    with server.client() as http:
        tool = create_tool(http, ECHO)
    async with Client(server.base_url + "/mcp") as client:
        await client.call_tool(tool["name"], {"text": secret})
        with pytest.raises(MCPError):
            await client.call_tool(unique("missing"), {"text": secret})
    log = server.log()
    line = next(line for line in log.splitlines() if f"tool={tool['name']} " in line)
    assert "mcp tool call" in line and "outcome=success" in line and "duration_ms=" in line
    assert "user_id=user-" in line and "profile=-" in line
    assert "outcome=unknown_tool" in log
    assert secret not in log


def test_profiles_api(client):
    tool = create_tool(client, ECHO)
    name = unique("prof")
    created = client.post("/v1/mcp-profiles", json={"name": name, "tags": ["x"], "tool_ids": [tool["id"]]})
    assert created.status_code == 200, created.text
    profile = created.json()
    assert profile["id"].startswith("mcp_profile-") and profile["tool_ids"] == [tool["id"]]
    assert client.post("/v1/mcp-profiles", json={"name": name}).status_code == 409
    unknown = client.post("/v1/mcp-profiles", json={"name": unique("p"), "tool_ids": ["tool-nope"]})
    assert unknown.status_code == 400 and "tool-nope" in unknown.json()["detail"]
    assert client.post("/v1/mcp-profiles", json={"name": "has/slash"}).status_code == 422

    renamed = client.patch(f"/v1/mcp-profiles/{profile['id']}", json={"name": name + "-2", "tags": []})
    assert renamed.status_code == 200 and renamed.json()["tags"] == [] and renamed.json()["tool_ids"]
    assert client.get(f"/v1/mcp-profiles/{profile['id']}").json()["name"] == name + "-2"
    assert profile["id"] in {p["id"] for p in client.get("/v1/mcp-profiles", params={"limit": 1000}).json()}
    assert client.delete(f"/v1/mcp-profiles/{profile['id']}").status_code == 200
    assert client.get(f"/v1/mcp-profiles/{profile['id']}").status_code == 404


def test_example_runs(server):
    env = {**os.environ, "TOOLHUB_URL": server.base_url}
    example = REPO / "examples" / "mcp_client.py"
    result = subprocess.run([sys.executable, str(example)], env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "call: success" in result.stdout and '"city": "Oslo"' in result.stdout
    assert "tools at /mcp/weather-" in result.stdout and "forecast_" in result.stdout
    config = json.loads(result.stdout.split("claude_desktop_config.json: ", 1)[1])
    assert config["mcpServers"]["toolhub"]["args"][0] == "mcp-stdio"


def test_mcp_stdio_says_why_it_cannot_serve(secure_server):
    result = subprocess.run(
        [sys.executable, "-m", "toolhub.cli", "mcp-stdio", "--url", secure_server.base_url + "/mcp"],
        env={**os.environ, "TOOLHUB_API_KEY": "thk_wrong"},
        cwd=REPO,
        input="",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1 and result.stdout == ""
    assert "cannot serve" in result.stderr and "Invalid password or API key" in result.stderr, result.stderr
