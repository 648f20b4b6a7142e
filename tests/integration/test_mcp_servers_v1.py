"""`/v1/mcp-servers` (Letta 1.x) against real MCP servers: lifecycle through letta-client 1.12.1, the same
servers through the 0.8 routes and letta-client 0.1.197, synced tools (refresh, pins, unavailable tools, a
300-tool server), and masked auth settings of remote servers."""

import json
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest
from letta_client import Letta

from tests.support.mcp_servers import VENV_BIN, _start, free_port, start_everything
from tests.support.sdk1 import run_letta1

MCP_SERVERS = Path(__file__).resolve().parents[1] / "support" / "mcp_servers"
MANY_TOOLS = MCP_SERVERS / "many_tools.py"

LIFECYCLE = """
import json, sys
from letta_client import Letta, NotFoundError, ConflictError

base_url, name, command = sys.argv[1:4]
client = Letta(base_url=base_url, max_retries=0)
dump = lambda value: value if isinstance(value, dict) else value.model_dump(mode="json")
config = {"mcp_server_type": "stdio", "command": command, "args": ["--local-timezone", "UTC"]}
created = client.mcp_servers.create(server_name=name, config=config)
out = {"created": created.model_dump(mode="json")}
out["listed"] = [s.id for s in client.mcp_servers.list()]
out["retrieved"] = client.mcp_servers.retrieve(created.id).model_dump(mode="json")
tools = client.mcp_servers.tools.list(created.id)
out["tools"] = [t.model_dump(mode="json") for t in tools]
now = next(t for t in tools if t.name == "get_current_time")
out["one_tool"] = client.mcp_servers.tools.retrieve(now.id, mcp_server_id=created.id).name
out["run"] = dump(client.mcp_servers.tools.run(now.id, mcp_server_id=created.id, args={"timezone": "UTC"}))
paris = {**config, "args": ["--local-timezone", "Europe/Paris"]}
out["updated"] = client.mcp_servers.update(created.id, config=paris).model_dump(mode="json")
out["refresh"] = dump(client.mcp_servers.refresh(created.id))
try:
    client.mcp_servers.create(server_name=name, config=config)
    out["duplicate"] = None
except ConflictError as exc:
    out["duplicate"] = exc.status_code
missing = "mcp_server-00000000-0000-4000-8000-000000000999"
out["unknown_tools"] = [t.id for t in client.mcp_servers.tools.list(missing)]
try:
    client.mcp_servers.retrieve(missing)
    out["unknown"] = None
except NotFoundError as exc:
    out["unknown"] = exc.status_code
print(json.dumps(out))
"""

DELETE = """
import json, sys
from letta_client import Letta, NotFoundError

base_url, server_id = sys.argv[1:3]
client = Letta(base_url=base_url, max_retries=0)
client.mcp_servers.delete(server_id)
try:
    client.mcp_servers.retrieve(server_id)
    print(json.dumps({"after": "still there"}))
except NotFoundError as exc:
    print(json.dumps({"after": exc.status_code, "tools": [t.id for t in client.mcp_servers.tools.list(server_id)]}))
"""

CREATE_REMOTE = """
import json, sys
from letta_client import Letta

base_url, name, kind, url = sys.argv[1:5]
client = Letta(base_url=base_url, max_retries=0)
config = {"mcp_server_type": kind, "server_url": url, "auth_header": "X-Api-Key", "auth_token": "secret-token-123",
          "custom_headers": {"X-Team": "team-secret-456"}}
created = client.mcp_servers.create(server_name=name, config=config)
tools = client.mcp_servers.tools.list(created.id)
echo = next(t for t in tools if t.name in ("echo", name + "__echo"))  # another server's echo may hold the name
run = client.mcp_servers.tools.run(echo.id, mcp_server_id=created.id, args={"text": "hi"})
run = run if isinstance(run, dict) else run.model_dump(mode="json")
print(json.dumps({"created": created.model_dump(mode="json"), "tool_names": [t.name for t in tools], "run": run}))
"""

COUNT_TOOLS = """
import json, sys
from letta_client import Letta

base_url, server_id = sys.argv[1:3]
client = Letta(base_url=base_url, max_retries=0)
print(json.dumps([t.name for t in client.mcp_servers.tools.list(server_id)]))
"""


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:6]}"


def many_tools_config(*args: str) -> dict:
    return {"mcp_server_type": "stdio", "command": sys.executable, "args": [str(MANY_TOOLS), *args]}


def create(http: httpx.Client, name: str, config: dict) -> dict:
    response = http.post("/v1/mcp-servers/", json={"server_name": name, "config": config}, timeout=120)
    assert response.status_code == 200, response.text
    return response.json()


def synced(http: httpx.Client, server_id: str) -> dict[str, dict]:
    response = http.get(f"/v1/mcp-servers/{server_id}/tools")
    assert response.status_code == 200, response.text
    return {tool["name"]: tool for tool in response.json()}


def test_stdio_lifecycle_through_both_sdk_generations(make_server):
    # A server of its own: on the shared one, another test's time server may already hold these tool names.
    server = make_server()
    client = server.client()
    name = unique("time")
    seen = run_letta1(LIFECYCLE, server.base_url, name, str(VENV_BIN / "mcp-server-time"))
    created = seen["created"]
    assert created["id"].startswith("mcp_server-") and created["server_name"] == name
    assert created["mcp_server_type"] == "stdio" and created["args"] == ["--local-timezone", "UTC"]
    assert created["id"] in seen["listed"] and seen["retrieved"]["id"] == created["id"]
    tools = {t["name"]: t for t in seen["tools"]}
    assert set(tools) == {"get_current_time", "convert_time"}
    assert all(t["tool_type"] == "external_mcp" and t["tags"] == [f"mcp:{name}"] for t in tools.values())
    assert seen["one_tool"] == "get_current_time"
    assert seen["run"]["status"] == "success" and '"timezone": "UTC"' in seen["run"]["func_return"]
    assert seen["updated"]["id"] == created["id"] and seen["updated"]["args"] == ["--local-timezone", "Europe/Paris"]
    # The time server's descriptions name its local timezone: the update changed them, the refresh re-pins them.
    assert sorted(seen["refresh"]["updated"]) == ["convert_time", "get_current_time"]
    assert seen["refresh"]["added"] == seen["refresh"]["deleted"] == seen["refresh"]["failed"] == []
    assert seen["duplicate"] == 409 and seen["unknown"] == 404 and seen["unknown_tools"] == []

    # The 0.8 routes and letta-client 0.1.197 see the same server, and the same tools by id.
    old = Letta(base_url=server.base_url)
    assert name in {s.server_name for s in old.tools.list_mcp_servers().values()}
    by_name = {t.name: t.id for t in old.tools.list(limit=1000)}
    assert {by_name[n] for n in tools} == {t["id"] for t in tools.values()}

    gone = run_letta1(DELETE, server.base_url, created["id"])
    assert gone == {"after": 404, "tools": []}
    assert name not in client.get("/v1/tools/mcp/servers").json()
    for tool in tools.values():
        assert client.get(f"/v1/tools/{tool['id']}").status_code == 404


def test_server_added_through_the_08_routes_has_an_id_and_tools(make_server):
    client = make_server().client()  # its own server: the tool names must be free
    name = unique("old")
    body = {"server_name": name, "command": str(VENV_BIN / "mcp-server-time"), "args": ["--local-timezone", "UTC"]}
    assert client.put("/v1/tools/mcp/servers", json=body).status_code == 200
    listed = {s["server_name"]: s for s in client.get("/v1/mcp-servers/").json()}
    server_id = listed[name]["id"]
    assert server_id.startswith("mcp_server-") and listed[name]["source"] == "api"
    assert synced(client, server_id) == {}  # the 0.8 add registers nothing until a refresh
    refresh = client.patch(f"/v1/mcp-servers/{server_id}/refresh", timeout=60).json()
    assert sorted(refresh["added"]) == ["convert_time", "get_current_time"]
    assert client.get(f"/v1/mcp-servers/{server_id}").json()["server_name"] == name


@pytest.mark.parametrize("transport, kind", [("sse", "sse"), ("streamable-http", "streamable_http")])
def test_remote_servers_with_masked_auth(server, client, transport, kind):
    remote = start_everything(transport, "--name", f"v1-{kind}")
    try:
        name = unique(kind)
        seen = run_letta1(CREATE_REMOTE, server.base_url, name, kind, remote.url)
    finally:
        remote.stop()
    created = seen["created"]
    assert created["mcp_server_type"] == kind and created["auth_header"] == "X-Api-Key"
    assert created["auth_token"] == "****" and created["custom_headers"] == {"X-Team": "****"}
    listed = json.dumps(client.get("/v1/mcp-servers/").json())
    assert "secret-token-123" not in listed and "team-secret-456" not in listed
    assert "secret-token-123" not in json.dumps(client.get("/v1/tools/mcp/servers").json())
    assert {"echo", f"{name}__echo"} & set(seen["tool_names"])
    assert seen["run"]["status"] == "success" and "hi" in seen["run"]["func_return"]


def test_refresh_adds_pins_and_marks_vanished_tools_unavailable(client, tmp_path):
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"count": 3}))
    name = unique("many")
    created = create(client, name, many_tools_config("--spec-file", str(spec)))
    server_id = created["id"]
    assert set(synced(client, server_id)) == {"tool_000", "tool_001", "tool_002"}
    agent = client.post("/v1/agents/", json={"name": unique("ag"), "tool_ids": [t["id"] for t in synced(client, server_id).values()], "include_base_tools": False})
    assert agent.status_code == 200, agent.text

    spec.write_text(json.dumps({"count": 4, "description": "Echo x, now changed."}))
    held = client.patch(f"/v1/mcp-servers/{server_id}/refresh", params={"accept_changes": "false"}, timeout=60).json()
    assert held == {"added": ["tool_003"], "updated": [], "deleted": [], "failed": []}
    tool_000 = synced(client, server_id)["tool_000"]
    assert tool_000["description"] == "Echo x, tagged with tool_000."
    assert tool_000["metadata_"]["mcp"]["pending_fingerprint"] != tool_000["metadata_"]["mcp"]["fingerprint"]
    refused = client.post(f"/v1/mcp-servers/{server_id}/tools/{tool_000['id']}/run", json={"args": {"x": 1}})
    assert refused.status_code != 200 or refused.json()["status"] == "error"

    accepted = client.patch(f"/v1/mcp-servers/{server_id}/refresh", timeout=60).json()
    assert accepted["updated"] == ["tool_000"] and accepted["added"] == []
    tool_000 = synced(client, server_id)["tool_000"]
    assert tool_000["description"] == "Echo x, now changed." and "pending_fingerprint" not in tool_000["metadata_"]["mcp"]
    ran = client.post(f"/v1/mcp-servers/{server_id}/tools/{tool_000['id']}/run", json={"args": {"x": 7}}).json()
    assert ran["status"] == "success" and ran["func_return"] == "tool_000:7"

    spec.write_text(json.dumps({"count": 2, "description": "Echo x, now changed."}))
    shrunk = client.patch(f"/v1/mcp-servers/{server_id}/refresh", timeout=60).json()
    assert sorted(shrunk["deleted"]) == ["tool_002", "tool_003"]
    kept = synced(client, server_id)
    assert kept["tool_002"]["metadata_"]["mcp"]["unavailable"] is True and "unavailable" not in kept["tool_001"]["metadata_"]["mcp"]

    ids = {t["id"] for t in kept.values()}
    assert client.delete(f"/v1/mcp-servers/{server_id}").status_code == 204
    tools_left = {t["id"] for t in client.get(f"/v1/agents/{agent.json()['id']}/tools").json()}
    assert not ids & tools_left
    assert all(client.get(f"/v1/tools/{tool_id}").status_code == 404 for tool_id in ids)


def test_a_300_tool_server_registers_every_tool_and_names_the_unconvertible(server, client):
    name = unique("big")
    started = time.monotonic()
    created = create(client, name, many_tools_config("--count", "300", "--unconvertible"))
    assert created["failed_tools"] == ["huge"]
    names = run_letta1(COUNT_TOOLS, server.base_url, created["id"])
    assert len(names) == 300 and set(names) == {f"tool_{i:03d}" for i in range(300)}
    assert time.monotonic() - started < 120


def test_config_file_server_ids_survive_a_restart(make_server, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    config = {"command": str(VENV_BIN / "mcp-server-time"), "args": ["--local-timezone", "UTC"]}
    (home / "mcp_config.json").write_text(json.dumps({"mcpServers": {"filetime": config}}))
    first = make_server(home=home)
    with first.client() as http:
        server_id = {s["server_name"]: s["id"] for s in http.get("/v1/mcp-servers").json()}["filetime"]
        assert http.get(f"/v1/mcp-servers/{server_id}").json()["source"] == "config_file"
        assert http.delete(f"/v1/mcp-servers/{server_id}").status_code == 400
        refresh = http.patch(f"/v1/mcp-servers/{server_id}/refresh", timeout=60).json()
        assert sorted(refresh["added"]) == ["convert_time", "get_current_time"]
    first.stop()
    second = make_server(home=home, database_url=first.env["TOOLHUB_DATABASE_URL"])
    with second.client() as http:
        assert http.get(f"/v1/mcp-servers/{server_id}").json()["server_name"] == "filetime"
        assert set(synced(http, server_id)) == {"convert_time", "get_current_time"}


def test_header_references_resolve_from_the_environment_and_stay_masked(make_server):
    port = free_port()
    echo = _start([sys.executable, str(MCP_SERVERS / "header_echo.py"), "--port", str(port)], port, f"http://127.0.0.1:{port}/mcp")
    hub = make_server(MCP_TEST_HEADER="from-env-42")
    try:
        with hub.client() as http:
            config = {"mcp_server_type": "streamable_http", "server_url": echo.url, "auth_header": "X-Api-Key",
                      "auth_token": "${MCP_TEST_HEADER}-tok", "custom_headers": {"X-Env": "${MCP_TEST_HEADER}"}}
            created = create(http, "echo", config)
            assert created["auth_token"] == "****" and created["custom_headers"] == {"X-Env": "****"}
            tool = synced(http, created["id"])["request_header"]
            run = f"/v1/mcp-servers/{created['id']}/tools/{tool['id']}/run"
            assert http.post(run, json={"args": {"name": "x-env"}}).json()["func_return"] == "from-env-42"
            assert http.post(run, json={"args": {"name": "x-api-key"}}).json()["func_return"] == "from-env-42-tok"
            assert "from-env-42" not in http.get("/v1/mcp-servers").text

            # Sending back the masked answer keeps the secrets; the new header causes a reconnect.
            masked = {**created, "custom_headers": {"X-Env": "****", "X-New": "new"}}
            masked = {key: masked[key] for key in ("mcp_server_type", "server_url", "auth_header", "auth_token", "custom_headers")}
            updated = http.patch(f"/v1/mcp-servers/{created['id']}", json={"config": masked})
            assert updated.status_code == 200, updated.text
            assert updated.json()["custom_headers"] == {"X-Env": "****", "X-New": "****"}
            assert http.post(run, json={"args": {"name": "x-new"}}, timeout=60).json()["func_return"] == "new"
            assert http.post(run, json={"args": {"name": "x-env"}}).json()["func_return"] == "from-env-42"
            assert http.post(run, json={"args": {"name": "x-api-key"}}).json()["func_return"] == "from-env-42-tok"

            unset = create(http, "unset", {**config, "custom_headers": {"X-Env": "${MCP_TEST_UNSET}"}})
            assert unset["status"]["state"] != "healthy"
            assert "MCP_TEST_UNSET" in (unset["status"]["last_error"] or "")
    finally:
        echo.stop()
