"""`/v1/agents` and `/v1/blocks` over raw HTTP against a real server, on both backends.

Each test acts in an organization of its own (made through the admin routes, acted as with the `user_id`
header), so lists and counts see only its own agents and blocks. Plain httpx sends `python-httpx/…` as its
User-Agent, which is how a 0.1.x client looks; `V1` headers make a request look like letta-client 1.x.
"""

import uuid
from datetime import datetime

import httpx
import pytest

from tests.support.server import ServerProcess

V1 = {"X-Stainless-Package-Version": "1.12.1", "User-Agent": "Letta/Python 1.12.1"}
MAX_PAGES = 50
MISSING_TOOL = "tool-00000000-0000-4000-8000-000000000001"
MISSING_AGENT = "agent-00000000-0000-4000-8000-000000000001"

ENV_TOOL = '''def read_env(name: str) -> str:
    """Read one environment variable of the tool's process.

    Args:
        name (str): The variable's name.
    """
    import os
    return os.environ.get(name, "<unset>")
'''


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


@pytest.fixture
def tenant(server: ServerProcess, client: httpx.Client) -> httpx.Client:
    """A client acting as the only user of a fresh organization."""
    org = client.post("/v1/admin/orgs", json={"name": unique("agents")}).json()
    user = client.post("/v1/admin/users", json={"name": "agents", "organization_id": org["id"]}).json()
    with server.client(user_id=user["id"]) as http:
        yield http


def create(http: httpx.Client, headers: dict | None = None, **body) -> dict:
    response = http.post("/v1/agents/", json={"name": unique("ag"), **body}, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def when(timestamp: str) -> datetime:
    return datetime.fromisoformat(timestamp.replace("Z", "+00:00"))


def names(items: list[dict]) -> list[str]:
    return [item["name"] for item in items]


def walk(http: httpx.Client, path: str, **params) -> list[list[dict]]:
    """Follow `after=<last id>` as letta-client 1.x does, until an empty page."""
    pages: list[list[dict]] = []
    for _ in range(MAX_PAGES):
        items = http.get(path, params=params).json()
        if not items:
            return pages
        pages.append(items)
        params["after"] = items[-1]["id"]
    raise AssertionError(f"{path} still had items after {MAX_PAGES} pages")


# -- create -------------------------------------------------------------------------------------------------------


def test_legacy_client_gets_memgpt_agent_with_base_tools_rules_and_system_message(tenant):
    agent = create(tenant, memory_blocks=[{"label": "human", "value": "The user is Ada."}])
    assert agent["id"].startswith("agent-") and agent["agent_type"] == "memgpt_agent"
    assert names(agent["tools"]) == ["send_message", "conversation_search", "core_memory_append", "core_memory_replace"]
    assert [(r["tool_name"], r["type"]) for r in agent["tool_rules"]] == [
        ("send_message", "exit_loop"),
        ("conversation_search", "continue_loop"),
        ("core_memory_append", "continue_loop"),
        ("core_memory_replace", "continue_loop"),
    ]
    assert len(agent["message_ids"]) == 1 and agent["message_ids"][0].startswith("message-")
    [block] = agent["memory"]["blocks"]
    assert agent["blocks"] == [block]
    assert block["label"] == "human" and block["limit"] == 100_000 and block["read_only"] is False
    assert block["description"].startswith("The human block:")
    assert agent["model"] == "openai/gpt-4o-mini" and agent["llm_config"]["handle"] == "openai/gpt-4o-mini"
    assert agent["timezone"] == "UTC" and agent["last_stop_reason"] is None
    [first] = tenant.get(f"/v1/agents/{agent['id']}/messages").json()
    assert first["id"] == agent["message_ids"][0] and first["message_type"] == "system_message"
    assert "<human>" in first["content"] and "The user is Ada." in first["content"]


def test_v1_client_gets_letta_v1_agent_without_send_message_or_rules(tenant):
    agent = create(tenant, headers=V1)
    assert agent["agent_type"] == "letta_v1_agent"
    assert names(agent["tools"]) == ["conversation_search", "memory_insert", "memory_replace"]
    assert agent["tool_rules"] == []


@pytest.mark.parametrize(
    ("agent_type", "tools"),
    [
        ("memgpt_v2_agent", ["send_message", "conversation_search", "memory_insert", "memory_replace"]),
        ("react_agent", []),
        ("workflow_agent", []),
    ],
)
def test_base_tools_follow_the_agent_type(tenant, agent_type, tools):
    agent = create(tenant, agent_type=agent_type)
    assert agent["agent_type"] == agent_type and names(agent["tools"]) == tools


def test_server_setting_fixes_the_default_agent_type(make_server):
    server = make_server(TOOLHUB_DEFAULT_AGENT_TYPE="memgpt_v2_agent")
    with server.client() as http:
        assert create(http)["agent_type"] == "memgpt_v2_agent"
        assert create(http, headers=V1)["agent_type"] == "memgpt_v2_agent"
        assert create(http, agent_type="react_agent")["agent_type"] == "react_agent"


def test_named_tools_ids_rules_and_no_base_tools(tenant):
    tool = tenant.post("/v1/tools", json={"source_code": ENV_TOOL.replace("read_env", unique("env"))}).json()
    rules = [{"type": "run_first", "tool_name": tool["name"]}, {"type": "exit_loop", "tool_name": "send_message"}]
    agent = create(tenant, tools=["send_message"], tool_ids=[tool["id"]], include_base_tools=False, tool_rules=rules)
    assert names(agent["tools"]) == ["send_message", tool["name"]]
    exit_template = "<tool_rule>\n{{ tool_name }} ends your response (yields control) when called\n</tool_rule>"
    # as given, with Letta's default prompt templates; no base rules without base tools
    assert agent["tool_rules"] == [{**rules[0], "prompt_template": None}, {**rules[1], "prompt_template": exit_template}]
    multi = create(tenant, include_multi_agent_tools=True, include_base_tool_rules=False)
    assert "send_message_to_agent_async" in names(multi["tools"]) and multi["tool_rules"] == []


def test_unknown_tools_and_blocks_are_400_naming_them(tenant):
    response = tenant.post("/v1/agents", json={"tools": ["no_such_tool_x"], "tool_ids": [MISSING_TOOL]})
    assert response.status_code == 400
    assert "no_such_tool_x" in response.json()["detail"] and MISSING_TOOL in response.json()["detail"]
    missing_block = "block-00000000-0000-4000-8000-000000000001"
    response = tenant.post("/v1/agents", json={"block_ids": [missing_block]})
    assert response.status_code == 400 and missing_block in response.json()["detail"]
    assert tenant.get("/v1/agents/count").json() == 0  # nothing half-made


def test_model_handles_and_configs(tenant):
    agent = create(tenant, model="anthropic/claude-3-5-sonnet", embedding="openai/text-embedding-3-small",
                   context_window_limit=32_000)
    assert agent["llm_config"]["model"] == "claude-3-5-sonnet"
    assert agent["llm_config"]["model_endpoint_type"] == "anthropic"
    assert agent["llm_config"]["context_window"] == 32_000 and agent["llm_config"]["temperature"] == 0.7
    assert agent["embedding"] == "openai/text-embedding-3-small"
    assert agent["embedding_config"]["embedding_model"] == "text-embedding-3-small"
    assert agent["embedding_config"]["embedding_dim"] == 1536

    ollama = {"model": "llama3", "model_endpoint_type": "ollama", "context_window": 8192}
    from_config = create(tenant, llm_config=ollama)
    assert from_config["model"] == "ollama/llama3" and from_config["llm_config"]["context_window"] == 8192

    response = tenant.post("/v1/agents", json={"model": "gpt-4o"})
    assert response.status_code == 400 and "provider/model" in response.json()["detail"]


def test_unknown_body_fields_are_ignored_wrong_types_are_422(tenant):
    agent = create(tenant, not_a_field=1, memory_blocks=[{"label": "p", "value": "v", "also_not": True}])
    assert agent["memory"]["blocks"][0]["value"] == "v"
    assert tenant.post("/v1/agents", json={"tags": "not-a-list"}).status_code == 422
    assert tenant.post("/v1/agents", json={"timezone": "Mars/Olympus"}).status_code == 422


def test_block_limit_and_duplicate_labels_on_create(tenant):
    response = tenant.post("/v1/agents", json={"memory_blocks": [{"label": "notes", "value": "x" * 12, "limit": 10}]})
    assert response.status_code == 400
    assert response.json()["detail"] == "Edit failed: Exceeds 10 character limit (requested 12) for block 'notes'"
    twice = [{"label": "human", "value": "a"}, {"label": "human", "value": "b"}]
    response = tenant.post("/v1/agents", json={"memory_blocks": twice})
    assert response.status_code == 400 and "'human'" in response.json()["detail"]


# -- read -----------------------------------------------------------------------------------------------------------


def test_relationships_by_client_generation(tenant):
    agent = create(tenant, memory_blocks=[{"label": "human", "value": "hi"}], tags=["t1"], secrets={"K": "v"})
    path = f"/v1/agents/{agent['id']}"

    legacy = tenant.get(path).json()
    assert len(legacy["tools"]) == 4 and len(legacy["blocks"]) == 1 and legacy["tags"] == ["t1"]
    assert [s["key"] for s in legacy["secrets"]] == ["K"]
    assert legacy["tool_exec_environment_variables"] == legacy["secrets"]

    bare = tenant.get(path, headers=V1).json()
    relations = (bare["tools"], bare["blocks"], bare["memory"]["blocks"], bare["secrets"], bare["tags"])
    assert relations == ([], [], [], [], [])
    assert bare["message_ids"] == legacy["message_ids"] and bare["tool_rules"] == legacy["tool_rules"]

    some = tenant.get(path, params={"include": ["agent.tools", "agent.tags"]}, headers=V1).json()
    assert len(some["tools"]) == 4 and some["tags"] == ["t1"] and some["blocks"] == [] and some["secrets"] == []

    memory_only = tenant.get(path, params={"include_relationships": ["memory"]}).json()
    assert len(memory_only["memory"]["blocks"]) == 1 and memory_only["tools"] == []

    assert tenant.get(path, params={"bogus": 1}).status_code == 400


def test_unknown_agent_is_404_with_lettas_text_and_other_orgs_see_nothing(tenant, client):
    response = tenant.get(f"/v1/agents/{MISSING_AGENT}")
    assert response.status_code == 404
    assert response.json()["detail"] == f"Agent with ID {MISSING_AGENT} not found"
    mine = create(tenant)
    assert client.get(f"/v1/agents/{mine['id']}").status_code == 404  # the default organization
    assert client.delete(f"/v1/agents/{mine['id']}").status_code == 404


def test_list_filters_and_count(tenant):
    stem = unique("Fleet")
    made = [
        create(tenant, name=f"{stem}_alpha", tags=["red", "big"]),
        create(tenant, name=f"{stem}_beta", tags=["red"]),
        create(tenant, name="other", tags=["blue"]),
    ]
    listed = lambda **params: names(tenant.get("/v1/agents", params=params).json())  # noqa: E731
    assert listed(name=f"{stem}_beta") == [f"{stem}_beta"]
    assert listed(tags=["red"], order="asc") == [f"{stem}_alpha", f"{stem}_beta"]
    assert listed(tags=["red", "blue"], order="asc") == names(made)
    assert listed(tags=["red", "big"], match_all_tags=True) == [f"{stem}_alpha"]
    assert listed(query_text=stem.upper(), order="asc") == [f"{stem}_alpha", f"{stem}_beta"]
    assert listed(query_text="%") == []  # wildcards are literal
    assert listed() == names(made)[::-1]  # newest first by default
    assert listed(ascending="true") == names(made)
    assert tenant.get("/v1/agents/count").json() == 3
    assert tenant.get("/v1/agents/count", params={"tags": "red"}).json() == 2
    assert tenant.get("/v1/agents/count", params={"query_text": "OTHER"}).json() == 1
    response = tenant.get("/v1/agents", params={"colour": "red"})
    assert response.status_code == 400 and "'colour'" in response.json()["detail"]
    assert tenant.get("/v1/agents/count", params={"colour": "red"}).status_code == 400


@pytest.mark.parametrize("order", ["asc", "desc"])
def test_list_pages_each_agent_once_in_order(tenant, order):
    for _ in range(7):
        create(tenant)
    full = tenant.get("/v1/agents", params={"order": order, "limit": 100}).json()
    pages = walk(tenant, "/v1/agents", limit=3, order=order)
    assert [len(page) for page in pages] == [3, 3, 1]
    assert [item["id"] for page in pages for item in page] == [item["id"] for item in full]
    assert len({item["id"] for item in full}) == 7
    filtered = walk(tenant, "/v1/agents", limit=2, order=order, query_text="AG_")
    assert [item["id"] for page in filtered for item in page] == [item["id"] for item in full]


def test_trailing_slash_and_latest_prefix(tenant):
    agent = create(tenant)
    assert tenant.get(f"/latest/agents/{agent['id']}/").json()["id"] == agent["id"]
    assert tenant.get("/v1/agents/count/").json() == 1


# -- modify and delete --------------------------------------------------------------------------------------------


def test_modify_fields_model_and_rules(tenant):
    agent = create(tenant)
    body = {
        "name": "renamed",
        "description": "does things",
        "tags": ["a", "b"],
        "system": "Be brief.",
        "metadata": {"tool_sandbox": "local"},
        "model": "openai/gpt-4o",
        "tool_rules": [{"type": "exit_loop", "tool_name": "conversation_search"}],
        "timezone": "Europe/Paris",
        "unknown_field": True,
    }
    response = tenant.patch(f"/v1/agents/{agent['id']}", json=body)
    assert response.status_code == 200, response.text
    changed = response.json()
    assert (changed["name"], changed["description"], changed["tags"], changed["system"]) == (
        "renamed", "does things", ["a", "b"], "Be brief."
    )
    assert changed["metadata"] == {"tool_sandbox": "local"} and changed["timezone"] == "Europe/Paris"
    assert changed["model"] == "openai/gpt-4o" and changed["llm_config"]["model"] == "gpt-4o"
    assert [(r["type"], r["tool_name"]) for r in changed["tool_rules"]] == [("exit_loop", "conversation_search")]
    assert when(changed["updated_at"]) > when(agent["updated_at"]) and changed["created_at"] == agent["created_at"]
    assert tenant.patch(f"/v1/agents/{agent['id']}", json={"model": "nohandle"}).status_code == 400
    assert tenant.patch(f"/v1/agents/{MISSING_AGENT}", json={"name": "x"}).status_code == 404


def test_modify_tool_ids_and_block_ids_replace_the_sets(tenant):
    agent = create(tenant, memory_blocks=[{"label": "human", "value": "h"}])
    tool = tenant.post("/v1/tools", json={"source_code": ENV_TOOL.replace("read_env", unique("env"))}).json()
    block = tenant.post("/v1/blocks", json={"label": "notes", "value": "n"}).json()
    changed = tenant.patch(f"/v1/agents/{agent['id']}", json={"tool_ids": [tool["id"]], "block_ids": [block["id"]]})
    assert names(changed.json()["tools"]) == [tool["name"]]
    assert [b["label"] for b in changed.json()["blocks"]] == ["notes"]
    response = tenant.patch(f"/v1/agents/{agent['id']}", json={"tool_ids": [MISSING_TOOL]})
    assert response.status_code == 400 and MISSING_TOOL in response.json()["detail"]


def test_secrets_both_shapes_one_store_patch_replaces(tenant):
    agent = create(tenant, tool_exec_environment_variables={"OLD_STYLE": "one"}, secrets={"NEW_STYLE": "two"})
    as_dict = lambda items: {item["key"]: item["value"] for item in items}  # noqa: E731
    assert as_dict(agent["secrets"]) == {"OLD_STYLE": "one", "NEW_STYLE": "two"}
    assert agent["tool_exec_environment_variables"] == agent["secrets"]
    secret = agent["secrets"][0]
    assert secret["id"].startswith("agent-env-") and secret["agent_id"] == agent["id"]
    assert secret["value_enc"] and "one" not in secret["value_enc"] and "two" not in secret["value_enc"]

    path = f"/v1/agents/{agent['id']}"
    after_secrets = tenant.patch(path, json={"secrets": {"NEW_STYLE": "three", "C": "c"}}).json()
    assert as_dict(after_secrets["secrets"]) == {"NEW_STYLE": "three", "C": "c"}
    kept = {s["key"]: s["id"] for s in after_secrets["secrets"]}
    assert kept["NEW_STYLE"] == {s["key"]: s["id"] for s in agent["secrets"]}["NEW_STYLE"]
    after_old = tenant.patch(path, json={"tool_exec_environment_variables": {"D": "d"}}).json()
    assert as_dict(after_old["tool_exec_environment_variables"]) == {"D": "d"} == as_dict(after_old["secrets"])
    assert as_dict(tenant.patch(path, json={"description": "x"}).json()["secrets"]) == {"D": "d"}


def test_delete_keeps_a_shared_block_and_removes_the_private_one(tenant):
    first = create(tenant, memory_blocks=[{"label": "human", "value": "shared"}, {"label": "mine", "value": "p"}])
    shared_id, private_id = (block["id"] for block in first["blocks"])
    second = create(tenant, block_ids=[shared_id])
    assert tenant.get(f"/v1/blocks/{shared_id}/agents", params={"order": "asc"}).json()[1]["id"] == second["id"]

    response = tenant.delete(f"/v1/agents/{first['id']}")
    assert response.status_code == 200 and first["id"] in response.json()["message"]
    assert tenant.get(f"/v1/agents/{first['id']}").status_code == 404
    assert tenant.get(f"/v1/blocks/{private_id}").status_code == 404
    assert tenant.get(f"/v1/blocks/{shared_id}").json()["value"] == "shared"
    assert [b["id"] for b in tenant.get(f"/v1/agents/{second['id']}").json()["blocks"]] == [shared_id]

    tenant.delete(f"/v1/agents/{second['id']}")
    assert tenant.get(f"/v1/blocks/{shared_id}").status_code == 200  # standalone once its maker is gone
    assert tenant.get("/v1/agents/count").json() == 0


# -- tools ----------------------------------------------------------------------------------------------------------


def test_tools_attach_detach_list(tenant):
    agent = create(tenant, include_base_tools=False)
    tools = [
        tenant.post("/v1/tools", json={"source_code": ENV_TOOL.replace("read_env", unique("env"))}).json()
        for _ in range(3)
    ]
    path = f"/v1/agents/{agent['id']}/tools"
    state = tenant.patch(f"{path}/attach/{tools[0]['id']}")
    assert state.status_code == 200 and names(state.json()["tools"]) == [tools[0]["name"]]
    v1 = tenant.patch(f"{path}/attach/{tools[1]['id']}", headers=V1)
    assert v1.status_code == 200 and v1.json() is None
    tenant.patch(f"{path}/attach/{tools[1]['id']}")  # again: nothing changes
    tenant.patch(f"{path}/attach/{tools[2]['id']}", headers=V1)
    newest_first = [t["id"] for t in reversed(tools)]
    assert [t["id"] for t in tenant.get(path).json()] == newest_first
    assert [t["id"] for page in walk(tenant, path, limit=2) for t in page] == newest_first
    assert len(tenant.get(path, headers=V1, params={"limit": 1}).json()) == 1

    detached = tenant.patch(f"{path}/detach/{tools[0]['id']}").json()
    assert names(detached["tools"]) == [tools[1]["name"], tools[2]["name"]]
    assert tenant.patch(f"{path}/detach/{tools[0]['id']}", headers=V1).json() is None
    assert tenant.patch(f"{path}/attach/{MISSING_TOOL}").status_code == 404
    assert tenant.patch(f"/v1/agents/{MISSING_AGENT}/tools/attach/{tools[0]['id']}").status_code == 404


def test_agent_tool_run_sees_the_agents_secrets(tenant):
    tool = tenant.post("/v1/tools", json={"source_code": ENV_TOOL}).json()
    agent = create(tenant, tool_ids=[tool["id"]], secrets={"SHORT": "abc12", "LONG_SECRET": "a-long-secret-value"})
    path = f"/v1/agents/{agent['id']}/tools/read_env/run"

    result = tenant.post(path, json={"args": {"name": "SHORT"}}).json()
    assert result == {
        "status": "success",
        "func_return": "abc12",
        "agent_state": None,
        "stdout": [],
        "stderr": [],
        "sandbox_config_fingerprint": None,
    }
    redacted = tenant.post(path, json={"args": {"name": "LONG_SECRET"}}).json()
    assert redacted["status"] == "success" and redacted["func_return"] == "[REDACTED]"  # secrets never come back
    missing = tenant.post(path, json={"args": {}}).json()
    assert missing["status"] == "error" and "name" in missing["func_return"]
    response = tenant.post(f"/v1/agents/{agent['id']}/tools/not_attached/run", json={"args": {}})
    assert response.status_code == 404 and "not_attached" in response.json()["detail"]


# -- core memory and blocks ---------------------------------------------------------------------------------------


def test_core_memory_routes(tenant):
    agent = create(tenant, memory_blocks=[{"label": "human", "value": "Ada", "limit": 20}, {"label": "persona",
                                                                                            "value": "helper"}])
    base = f"/v1/agents/{agent['id']}/core-memory"
    memory = tenant.get(base).json()
    assert [b["label"] for b in memory["blocks"]] == ["human", "persona"] and memory["prompt_template"] == ""
    assert sorted(b["label"] for b in tenant.get(f"{base}/blocks").json()) == ["human", "persona"]
    assert tenant.get(f"{base}/blocks/human").json()["value"] == "Ada"
    assert tenant.get(f"{base}/blocks/nobody").status_code == 404

    changed = tenant.patch(f"{base}/blocks/human", json={"value": "Ada Lovelace", "read_only": True})
    assert changed.status_code == 200 and changed.json()["value"] == "Ada Lovelace" and changed.json()["read_only"]
    too_long = tenant.patch(f"{base}/blocks/human", json={"value": "x" * 21})
    assert too_long.status_code == 400
    assert too_long.json()["detail"] == "Edit failed: Exceeds 20 character limit (requested 21) for block 'human'"
    assert tenant.patch(f"{base}/blocks/human", json={"limit": 5}).status_code == 400  # the value no longer fits
    assert tenant.patch(f"{base}/blocks/human", json={"label": "persona"}).status_code == 409

    notes = tenant.post("/v1/blocks", json={"label": "notes", "value": "n"}).json()
    attached = tenant.patch(f"{base}/blocks/attach/{notes['id']}", headers=V1).json()
    assert [b["label"] for b in attached["blocks"]] == ["human", "persona", "notes"]  # full even for 1.x
    clash = tenant.post("/v1/blocks", json={"label": "notes", "value": "other"}).json()
    assert tenant.patch(f"{base}/blocks/attach/{clash['id']}").status_code == 409
    detached = tenant.patch(f"{base}/blocks/detach/{notes['id']}").json()
    assert [b["label"] for b in detached["memory"]["blocks"]] == ["human", "persona"]
    assert tenant.get(f"/v1/blocks/{notes['id']}").status_code == 200  # detaching does not delete


def test_blocks_crud_filters_and_count(tenant):
    stem = unique("Blk")
    made = [
        tenant.post("/v1/blocks", json={"label": f"{stem}_a", "value": "apples", "description": "Fruit notes",
                                        "tags": ["food"], "metadata": {"k": 1}, "not_a_field": 1}).json(),
        tenant.post("/v1/blocks", json={"label": f"{stem}_b", "value": "Bananas", "limit": 50}).json(),
        tenant.post("/v1/blocks", json={"label": "tmpl", "value": "t", "is_template": True, "name": "T1"}).json(),
    ]
    assert made[0]["id"].startswith("block-") and made[0]["metadata"] == {"k": 1} and made[0]["tags"] == ["food"]
    assert made[2]["template_name"] == "T1" == made[2]["name"]
    labels = lambda **params: [b["label"] for b in tenant.get("/v1/blocks", params=params).json()]  # noqa: E731
    assert labels() == [f"{stem}_a", f"{stem}_b"]  # oldest first, templates apart
    assert labels(templates_only="true") == ["tmpl"] and labels(templates_only="true", name="T1") == ["tmpl"]
    assert labels(label=f"{stem}_b") == [f"{stem}_b"]
    assert labels(label_search=stem.upper()) == [f"{stem}_a", f"{stem}_b"]
    assert labels(value_search="BANANA") == [f"{stem}_b"]
    assert labels(description_search="fruit") == [f"{stem}_a"]
    assert labels(tags="food") == [f"{stem}_a"]
    assert labels(connected_to_agents_count_eq=0, order="desc") == [f"{stem}_b", f"{stem}_a"]
    assert tenant.get("/v1/blocks/count").json() == 2
    assert tenant.get("/v1/blocks/count", params={"templates_only": "true"}).json() == 1
    assert tenant.get("/v1/blocks", params={"bogus": 1}).status_code == 400

    block_id = made[1]["id"]
    assert tenant.get(f"/v1/blocks/{block_id}").json()["limit"] == 50
    changed = tenant.patch(f"/v1/blocks/{block_id}", json={"value": "cherries", "description": None})
    assert changed.json()["value"] == "cherries"
    response = tenant.patch(f"/v1/blocks/{block_id}", json={"value": "x" * 51})
    assert response.status_code == 400 and "(requested 51)" in response.json()["detail"]

    agent = create(tenant, block_ids=[block_id])
    assert [a["id"] for a in tenant.get(f"/v1/blocks/{block_id}/agents").json()] == [agent["id"]]
    assert tenant.get(f"/v1/blocks/{block_id}/agents", headers=V1).json()[0]["blocks"] == []
    assert labels(connected_to_agents_count_gt=0) == [f"{stem}_b"]

    deleted = tenant.delete(f"/v1/blocks/{block_id}")
    assert deleted.status_code == 200 and deleted.json()["id"] == block_id
    assert tenant.get(f"/v1/blocks/{block_id}").status_code == 404
    assert tenant.get(f"/v1/agents/{agent['id']}").json()["blocks"] == []


def test_secrets_survive_a_restart_and_need_the_same_key(make_server, tmp_path):
    first = make_server(home=tmp_path / "shared-home")
    with first.client() as http:
        agent = create(http, secrets={"API_KEY": "kept-across-restarts"})
    first.stop()
    database_url = first.env["TOOLHUB_DATABASE_URL"]

    again = make_server(home=tmp_path / "shared-home", database_url=database_url)  # the key kept in the home
    with again.client() as http:
        secrets = http.get(f"/v1/agents/{agent['id']}").json()["secrets"]
        assert [(s["key"], s["value"]) for s in secrets] == [("API_KEY", "kept-across-restarts")]
    again.stop()

    other = make_server(home=tmp_path / "other-home", database_url=database_url, LETTA_ENCRYPTION_KEY="another")
    with other.client() as http:
        response = http.get(f"/v1/agents/{agent['id']}")
        assert response.status_code == 500 and response.json()["code"] == "encryption_key_mismatch"
        assert "'API_KEY'" in response.json()["detail"]
        assert http.get(f"/v1/agents/{agent['id']}", headers=V1).status_code == 200  # secrets not asked for
