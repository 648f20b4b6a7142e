"""Approvals, client-side tools and parallel tool calls end to end: a real server, real sandboxes, the fake LLM,
letta-client 1.12.1 (0.1.197 has no approvals) and raw HTTP."""

import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.fakes.llm_server import FakeLLM, text, tool_call, tool_calls
from tests.integration.test_agent_loop import create_agent, create_tool, llm_env, send, types, unique
from tests.support.sdk1 import LETTA1_PYTHON, run_letta1
from tests.support.server import ServerProcess, fresh_database_url

V1 = {"X-Stainless-Package-Version": "1.12.1", "User-Agent": "Letta/Python 1.12.1"}


def deploy_source(name: str) -> str:
    return f'''def {name}(target: str) -> str:
    """Deploy to a target.

    Args:
        target: Where to deploy.

    Returns:
        str: What was deployed.
    """
    return "deployed " + target
'''


def nap_source(name: str) -> str:
    return f'''def {name}(n: int) -> str:
    """Sleep 200 ms and say when.

    Args:
        n: Which call this is.

    Returns:
        str: The start and end times.
    """
    import time

    start = time.time()
    time.sleep(0.2)
    return f"{{n}} {{start:.4f}} {{time.time():.4f}}"
'''


@pytest.fixture(scope="module")
def approval_server(
    backend: str, fake_llm: FakeLLM, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    home = tmp_path_factory.mktemp(f"approvals-{backend}")
    proc = ServerProcess(home, fresh_database_url(backend, home), **llm_env(fake_llm)).start()
    yield proc
    proc.stop()


@pytest.fixture
def http(approval_server: ServerProcess) -> Iterator[httpx.Client]:
    with approval_server.client() as client:
        yield client


def approve(http: httpx.Client, agent_id: str, call_id: str, approve: bool = True, **fields) -> httpx.Response:
    answer = {"type": "approval", "tool_call_id": call_id, "approve": approve, **fields}
    body = {"messages": [{"type": "approval", "approvals": [answer]}]}
    return http.post(f"/v1/agents/{agent_id}/messages", json=body)


def pending_call(body: dict) -> str:
    request = body["messages"][-1]
    assert request["message_type"] == "approval_request_message"
    assert body["stop_reason"]["stop_reason"] == "requires_approval"
    return request["tool_call"]["tool_call_id"]


# -- approvals -----------------------------------------------------------------------------------------------------

LETTA1_APPROVE = """
import json, sys
from letta_client import BadRequestError, ConflictError, Letta

base_url, source = sys.argv[1:3]
client = Letta(base_url=base_url, max_retries=0)
tool = client.tools.create(source_code=source, default_requires_approval=True)
agent = client.agents.create(model="openai/fake-model", embedding="openai/text-embedding-3-small", tool_ids=[tool.id])
asked = client.agents.messages.create(agent_id=agent.id, input="deploy to prod")
request = asked.messages[-1]
pending = client.agents.retrieve(agent.id, include=["agent.pending_approval"]).pending_approval
try:
    client.agents.messages.create(agent_id=agent.id, input="hello again")
    conflict = None
except ConflictError as exc:
    conflict = [exc.status_code, exc.body]
try:
    client.agents.messages.create(agent_id=agent.id, messages=[
        {"type": "approval", "approvals": [{"type": "approval", "tool_call_id": "call_wrong", "approve": True}]}
    ])
    wrong = None
except BadRequestError as exc:
    wrong = [exc.status_code, exc.body]
call = request.tool_call
done = client.agents.messages.create(agent_id=agent.id, messages=[
    {"type": "approval", "approvals": [{"type": "approval", "tool_call_id": call.tool_call_id, "approve": True}]}
])
again = client.agents.messages.create(agent_id=agent.id, input="deploy to dr")
deny = {"type": "approval", "tool_call_id": again.messages[-1].tool_call.tool_call_id, "approve": False, "reason": "no"}
denied = client.agents.messages.create(agent_id=agent.id, messages=[{"type": "approval", "approvals": [deny]}])
history = client.agents.messages.list(agent_id=agent.id, order="asc")
print(json.dumps({
    "tool": [tool.default_requires_approval, tool.enable_parallel_execution],
    "asked": [m.message_type for m in asked.messages],
    "asked_stop": asked.stop_reason.stop_reason,
    "request": [request.id, request.otid, call.name, call.arguments, call.tool_call_id],
    "pending": [pending.id, pending.tool_calls[0].tool_call_id] if pending else None,
    "conflict": conflict,
    "wrong": wrong,
    "done": [[m.message_type, getattr(m, "tool_return", None), getattr(m, "content", None)] for m in done.messages],
    "done_stop": done.stop_reason.stop_reason,
    "denied": [[m.message_type, getattr(m, "status", None), getattr(m, "tool_return", None)] for m in denied.messages],
    "history": [m.message_type for m in history],
    "response": [(m.approval_request_id, m.approve, m.reason, [a.tool_call_id for a in m.approvals])
                 for m in history if m.message_type == "approval_response_message"],
    "after": client.agents.retrieve(agent.id, include=["agent.pending_approval"]).pending_approval,
}))
"""


def test_an_approval_approved_and_one_denied_with_letta_client_1_x(approval_server: ServerProcess, llm: FakeLLM):
    name = unique("deploy")
    llm.script(
        tool_call(name, {"target": "prod"}, id="call_deploy_1"), text("Deployed."),
        tool_call(name, {"target": "dr"}, id="call_deploy_2"), text("Not deploying dr."),
    )
    seen = run_letta1(LETTA1_APPROVE, approval_server.base_url, deploy_source(name))
    assert seen["tool"] == [True, False]
    assert seen["asked"] == ["approval_request_message"] and seen["asked_stop"] == "requires_approval"
    request_id, otid, tool_name, arguments, call_id = seen["request"]
    assert otid == request_id and tool_name == name and json.loads(arguments) == {"target": "prod"}
    assert call_id == "call_deploy_1" and seen["pending"] == [request_id, call_id]
    status, body = seen["conflict"]
    assert status == 409 and body["detail"]["code"] == "PENDING_APPROVAL"
    assert body["detail"]["pending_request_id"] == request_id
    assert seen["wrong"] == [400, {
        "detail": "Invalid tool call IDs. Expected '['call_deploy_1']', but received '['call_wrong']'.",
        "code": "invalid_input",
    }]
    assert seen["done"] == [["tool_return_message", "deployed prod", None], ["assistant_message", None, "Deployed."]]
    assert seen["done_stop"] == "end_turn" and seen["after"] is None
    assert seen["denied"] == [
        ["tool_return_message", "error", "Error: request to call tool denied. User reason: no"],
        ["assistant_message", None, None],
    ]
    turn = [
        "user_message", "approval_request_message", "approval_response_message", "tool_return_message",
        "assistant_message",
    ]
    assert seen["history"][-10:] == turn + turn
    assert [r[1:] for r in seen["response"]] == [[True, None, [call_id]], [False, "no", ["call_deploy_2"]]]
    assert seen["response"][0][0] == request_id
    assert len(llm.requests) == 4  # the refused requests never reached the model


def test_a_denied_call_never_runs_and_the_model_reads_the_reason(http: httpx.Client, llm: FakeLLM):
    agent = create_agent(http, memory_blocks=[{"label": "human", "value": "Unchanged."}])
    toggled = http.patch(f"/v1/agents/{agent['id']}/tools/approval/memory_insert", json={"requires_approval": True})
    assert toggled.status_code == 200 and toggled.json()["id"] == agent["id"]  # the AgentState, for a 0.1.x client
    llm.script(tool_call("memory_insert", {"label": "human", "new_str": "Hacked."}), text("Understood."))
    call_id = pending_call(send(http, agent["id"], "remember this").json())
    denied = approve(http, agent["id"], call_id, approve=False, reason="not today")
    assert denied.status_code == 200, denied.text
    body = denied.json()
    assert types(body["messages"]) == ["tool_return_message", "assistant_message"]
    returned = body["messages"][0]
    assert returned["status"] == "error"
    assert returned["tool_return"] == "Error: request to call tool denied. User reason: not today"
    assert returned["tool_call_id"] == call_id
    assert json.loads(llm.requests[-1]["messages"][-1]["content"])["message"] == returned["tool_return"]
    assert http.get(f"/v1/agents/{agent['id']}/core-memory/blocks/human").json()["value"] == "Unchanged."


def test_the_approval_toggle_route(http: httpx.Client, llm: FakeLLM):
    tool = create_tool(http, deploy_source(unique("deploy")), default_requires_approval=True)
    rules = [{"type": "requires_approval", "tool_name": tool["name"]}]
    agent = create_agent(http, tools=[tool["name"]], tool_rules=rules)
    route = f"/v1/agents/{agent['id']}/tools/approval"
    assert http.patch(f"{route}/no_such_tool", json={"requires_approval": True}).status_code == 404
    assert http.patch(f"{route}/{tool['name']}", json={}).status_code == 422
    off = http.patch(f"{route}/{tool['name']}", params={"requires_approval": "false"}, headers=V1)
    assert off.status_code == 200 and off.json() is None  # a 1.x client gets null
    state = http.get(f"/v1/agents/{agent['id']}").json()
    assert [rule["type"] for rule in state["tool_rules"]] == []  # the rule went with the choice
    llm.script(tool_call(tool["name"], {"target": "staging"}), text("Done."))
    body = send(http, agent["id"], "deploy").json()
    assert body["messages"][1]["tool_return"] == "deployed staging"  # the tool's default no longer applies


def test_rules_come_first_a_forbidden_call_never_waits_for_approval(http: httpx.Client, llm: FakeLLM):
    first = create_tool(http, deploy_source(unique("check")))
    risky = create_tool(http, deploy_source(unique("risky")), default_requires_approval=True)
    rules = [{"type": "run_first", "tool_name": first["name"]}]
    agent = create_agent(http, tools=[first["name"], risky["name"]], tool_rules=rules)
    llm.script(
        tool_call(risky["name"], {"target": "prod"}), tool_call(first["name"], {"target": "dry-run"}), text("ok")
    )
    body = send(http, agent["id"], "go").json()
    assert types(body["messages"]) == [
        "tool_call_message", "tool_return_message", "tool_call_message", "tool_return_message", "assistant_message"
    ]
    assert body["messages"][1]["tool_return"].startswith(f"[ToolConstraintError] Cannot call {risky['name']}")
    assert body["stop_reason"]["stop_reason"] == "end_turn"


def test_approval_by_stream_and_by_async_run(http: httpx.Client, llm: FakeLLM):
    tool = create_tool(http, deploy_source(unique("deploy")), default_requires_approval=True)
    agent = create_agent(http, tools=[tool["name"]])
    llm.script(tool_call(tool["name"], {"target": "eu"}), text("Deployed to eu."))
    stream_body = {"messages": [{"role": "user", "content": "deploy eu"}]}
    with http.stream("POST", f"/v1/agents/{agent['id']}/messages/stream", json=stream_body) as answer:
        events = [json.loads(line[6:]) for line in answer.iter_lines() if line.startswith("data: {")]
    assert types(events) == ["approval_request_message", "stop_reason", "usage_statistics"]
    assert events[1]["stop_reason"] == "requires_approval"
    call_id = events[0]["tool_call"]["tool_call_id"]
    approval = {"type": "approval", "tool_call_id": call_id, "approve": True}
    answers = {"messages": [{"type": "approval", "approvals": [approval]}]}
    run = http.post(f"/v1/agents/{agent['id']}/messages/async", json=answers).json()
    for _ in range(200):
        run = http.get(f"/v1/runs/{run['id']}").json()
        if run["status"] not in ("created", "running"):
            break
        time.sleep(0.05)
    assert (run["status"], run["stop_reason"]) == ("completed", "end_turn")
    messages = http.get(f"/v1/runs/{run['id']}/messages").json()
    shown = [m.get("tool_return") or m.get("content") for m in messages]
    assert shown == [None, "deployed eu", "Deployed to eu."]  # the answers, then what they led to
    assert messages[0]["message_type"] == "approval_response_message"


def test_an_approval_survives_a_server_restart(backend: str, fake_llm: FakeLLM, llm: FakeLLM, tmp_path: Path):
    home = tmp_path / "home"
    url = fresh_database_url(backend, home)
    server = ServerProcess(home, url, **llm_env(fake_llm)).start()
    try:
        with server.client() as http:
            tool = create_tool(http, deploy_source(unique("deploy")), default_requires_approval=True)
            agent = create_agent(http, tools=[tool["name"]])
            llm.script(tool_call(tool["name"], {"target": "prod"}), tool_call(tool["name"], {"target": "dr"}),
                       text("Both done."))
            call_id = pending_call(send(http, agent["id"], "deploy").json())
    finally:
        server.kill()
    restarted = ServerProcess(home, url, **llm_env(fake_llm)).start()
    try:
        with restarted.client() as http:
            pending = http.get(f"/v1/agents/{agent['id']}").json()["pending_approval"]
            assert pending["tool_call"]["tool_call_id"] == call_id
            approved = approve(http, agent["id"], call_id).json()
            assert approved["messages"][0]["tool_return"] == "deployed prod"
            second = pending_call(approved)  # the next call of the tool waits again
            denied = approve(http, agent["id"], second, approve=False, reason="no DR today").json()
        assert [m.get("tool_return") or m.get("content") for m in denied["messages"]] == [
            "Error: request to call tool denied. User reason: no DR today", "Both done."
        ]
    finally:
        restarted.stop()


def test_a_pending_approval_expires(make_server, fake_llm: FakeLLM, llm: FakeLLM):
    server = make_server(TOOLHUB_APPROVAL_TIMEOUT_SECONDS="1", **llm_env(fake_llm))
    with server.client() as http:
        tool = create_tool(http, deploy_source(unique("deploy")), default_requires_approval=True)
        agent = create_agent(http, tools=[tool["name"]])
        llm.script(tool_call(tool["name"], {"target": "prod"}), text("Hello!"))
        call_id = pending_call(send(http, agent["id"], "deploy").json())
        assert send(http, agent["id"], "too soon").status_code == 409
        time.sleep(1.2)
        assert http.get(f"/v1/agents/{agent['id']}").json()["pending_approval"] is None
        late = approve(http, agent["id"], call_id).json()
        assert late["stop_reason"]["stop_reason"] == "approval_expired"
        assert late["messages"][0]["tool_return"] == (
            f"Error: the request to call {tool['name']} expired: no answer came within 1 seconds, so it did not run."
        )
        assert send(http, agent["id"], "hi").json()["messages"][-1]["content"] == "Hello!"
        run = http.get("/v1/runs/", params={"agent_id": agent["id"]}).json()
    assert "approval_expired" in [r["stop_reason"] for r in run]
    assert len(llm.requests) == 2


# -- client-side tools ---------------------------------------------------------------------------------------------

LETTA1_CLIENT_TOOL = """
import json, sys
from letta_client import Letta

base_url = sys.argv[1]
client = Letta(base_url=base_url, max_retries=0)
agent = client.agents.create(model="openai/fake-model", embedding="openai/text-embedding-3-small")
where = {"name": "get_location", "description": "Where the user is.",
         "parameters": {"type": "object", "properties": {"precision": {"type": "string"}}, "required": []}}
asked = client.agents.messages.create(agent_id=agent.id, client_tools=[where], input="where am I?")
call = asked.messages[-1].tool_call
answered = client.agents.messages.create(agent_id=agent.id, client_tools=[where], messages=[
    {"type": "approval", "approvals": [
        {"type": "tool", "tool_call_id": call.tool_call_id, "tool_return": "Paris", "status": "success"}
    ]}
])
print(json.dumps({
    "asked": [m.message_type for m in asked.messages], "stop": asked.stop_reason.stop_reason,
    "call": [call.name, call.arguments],
    "answered": [
        [m.message_type, getattr(m, "tool_return", None), getattr(m, "content", None)] for m in answered.messages
    ],
}))
"""


def test_a_client_side_tool_round_trip_with_letta_client_1_x(approval_server: ServerProcess, llm: FakeLLM):
    llm.script(tool_call("get_location", {"precision": "city"}), text("You are in Paris."))
    seen = run_letta1(LETTA1_CLIENT_TOOL, approval_server.base_url)
    assert seen["asked"] == ["approval_request_message"] and seen["stop"] == "requires_approval"
    assert seen["call"] == ["get_location", '{"precision": "city"}']
    assert seen["answered"] == [
        ["tool_return_message", "Paris", None], ["assistant_message", None, "You are in Paris."]
    ]
    offered = [t["function"] for t in llm.requests[0]["tools"]]
    assert {"name": "get_location", "description": "Where the user is.", "parameters": {
        "type": "object", "properties": {"precision": {"type": "string"}}, "required": []
    }} in offered
    assert json.loads(llm.requests[1]["messages"][-1]["content"])["message"] == "Paris"


def test_a_tool_return_message_answers_a_client_call(http: httpx.Client, llm: FakeLLM):
    agent = create_agent(http)
    weather = {"name": "local_weather", "parameters": {"type": "object", "properties": {}, "required": []}}
    llm.script(tool_call("local_weather", {}), text("Rainy, take an umbrella."))
    body = {"messages": [{"role": "user", "content": "umbrella?"}], "client_tools": [weather]}
    call_id = pending_call(http.post(f"/v1/agents/{agent['id']}/messages", json=body).json())
    returned = {"tool_call_id": call_id, "tool_return": "rain", "status": "success", "stdout": ["sensor ok"]}
    answer = {"messages": [{"type": "tool_return", "tool_returns": [returned]}]}  # client_tools not sent again
    done = http.post(f"/v1/agents/{agent['id']}/messages", json=answer).json()
    assert [m.get("tool_return") or m.get("content") for m in done["messages"]] == ["rain", "Rainy, take an umbrella."]
    assert done["messages"][0]["stdout"] == ["sensor ok"]
    assert "local_weather" in [t["function"]["name"] for t in llm.requests[1]["tools"]]  # still offered


def test_a_heartbeat_agent_resumes_with_its_heartbeat(http: httpx.Client, llm: FakeLLM):
    tool = create_tool(http, deploy_source(unique("deploy")), default_requires_approval=True)
    agent = create_agent(http, agent_type="memgpt_agent", tools=[tool["name"]])
    args = {"inner_thoughts": "ship it", "target": "prod", "request_heartbeat": True}
    llm.script(
        tool_call(tool["name"], args), tool_call("send_message", {"inner_thoughts": "tell", "message": "Shipped."})
    )
    asked = send(http, agent["id"], "ship").json()
    assert types(asked["messages"]) == ["reasoning_message", "approval_request_message"]
    done = approve(http, agent["id"], pending_call(asked)).json()
    assert types(done["messages"]) == ["tool_return_message", "reasoning_message", "assistant_message"]
    assert done["messages"][0]["tool_return"] == "deployed prod" and done["stop_reason"]["stop_reason"] == "end_turn"
    heartbeat = json.loads(llm.requests[1]["messages"][-1]["content"])
    assert heartbeat["type"] == "heartbeat"
    assert heartbeat["reason"].endswith("request_heartbeat=true, returning control")


def test_client_tools_are_ignored_by_heartbeat_agents(http: httpx.Client, llm: FakeLLM):
    agent = create_agent(http, agent_type="memgpt_agent")
    body = {"messages": [{"role": "user", "content": "hi"}], "client_tools": [{"name": "get_location"}]}
    assert http.post(f"/v1/agents/{agent['id']}/messages", json=body).status_code == 200
    assert "get_location" not in [t["function"]["name"] for t in llm.requests[0]["tools"]]


# -- parallel calls ------------------------------------------------------------------------------------------------


def nap_agent(http: httpx.Client, *, parallel: bool) -> tuple[dict, str]:
    name = unique("nap")
    create_tool(http, nap_source(name), enable_parallel_execution=parallel)
    agent = create_agent(http, tools=[name])
    assert http.patch(f"/v1/agents/{agent['id']}", json={"parallel_tool_calls": True}).status_code == 200
    return agent, name


LETTA1_PARALLEL = """
import json, sys
from letta_client import Letta

base_url, source = sys.argv[1:3]
client = Letta(base_url=base_url, max_retries=0)
tool = client.tools.create(source_code=source, enable_parallel_execution=True)
agent = client.agents.create(model="openai/fake-model", embedding="openai/text-embedding-3-small", tool_ids=[tool.id])
client.agents.update(agent_id=agent.id, parallel_tool_calls=True)
response = client.agents.messages.create(agent_id=agent.id, input="three at once")
call, returned, final = response.messages
print(json.dumps({
    "types": [m.message_type for m in response.messages],
    "call_ids": [c.tool_call_id for c in call.tool_calls],
    "returns": [[r.tool_call_id, r.tool_return, r.status] for r in returned.tool_returns],
    "first": returned.tool_return,
    "final": final.content,
    "steps": response.usage.step_count,
}))
"""


def test_three_parallel_calls_run_together_and_return_in_call_order(approval_server: ServerProcess, llm: FakeLLM):
    name = unique("nap")
    llm.script(tool_calls(*[(name, {"n": n}) for n in (1, 2, 3)]), text("All three."))
    seen = run_letta1(LETTA1_PARALLEL, approval_server.base_url, nap_source(name))
    assert seen["types"] == ["tool_call_message", "tool_return_message", "assistant_message"]
    assert [r[0] for r in seen["returns"]] == seen["call_ids"] and len(set(seen["call_ids"])) == 3
    assert seen["final"] == "All three." and seen["steps"] == 2
    times = [text.split() for _, text, _ in seen["returns"]]
    assert [n for n, _, _ in times] == ["1", "2", "3"] and seen["first"] == seen["returns"][0][1]
    starts, ends = [float(s) for _, s, _ in times], [float(e) for _, _, e in times]
    assert max(ends) - min(starts) < 0.45  # one after the other would take at least 0.6 s
    assert llm.requests[0]["parallel_tool_calls"] is True


def test_calls_of_a_tool_without_parallel_execution_run_one_after_the_other(http: httpx.Client, llm: FakeLLM):
    agent, name = nap_agent(http, parallel=False)
    llm.script(tool_calls(*[(name, {"n": n}) for n in (1, 2, 3)]), text("In turn."))
    returned = send(http, agent["id"], "three in turn").json()["messages"][1]
    times = [r["tool_return"].split() for r in returned["tool_returns"]]
    assert all(float(times[i + 1][1]) >= float(times[i][2]) for i in range(2))


def test_rules_apply_to_each_parallel_call(http: httpx.Client, llm: FakeLLM):
    agent, name = nap_agent(http, parallel=True)
    rule = {"type": "max_count_per_step", "tool_name": name, "max_count_limit": 2}
    assert http.patch(f"/v1/agents/{agent['id']}", json={"tool_rules": [rule]}).status_code == 200
    llm.script(tool_calls(*[(name, {"n": n}) for n in (1, 2, 3)]), text("Two of three."))
    returned = send(http, agent["id"], "three at once").json()["messages"][1]
    assert [r["status"] for r in returned["tool_returns"]] == ["success", "success", "error"]
    assert returned["tool_returns"][2]["tool_return"].startswith(f"[ToolConstraintError] Cannot call {name}")


# -- the example ---------------------------------------------------------------------------------------------------


def test_the_approvals_example_runs(approval_server: ServerProcess, llm: FakeLLM):
    llm.script(
        tool_call("deploy_service", {"service": "billing", "target": "prod"}),
        text("billing is live in prod."),
        tool_call("deploy_service", {"service": "search", "target": "prod"}),
        text("Understood, not deploying search."),
        tool_call("ask_user_location", {}),
        text("You are in Lyon."),
    )
    env = {**os.environ, "TOOLHUB_URL": approval_server.base_url, "TOOLHUB_MODEL": "openai/fake-model"}
    script = Path(__file__).parents[2] / "examples" / "approvals.py"
    done = subprocess.run([str(LETTA1_PYTHON), str(script)], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert 'waiting for approval: deploy_service({"service": "billing", "target": "prod"})' in lines
    assert "return (success): billing deployed to prod" in lines
    assert "return (error): Error: request to call tool denied. User reason: search is frozen this week" in lines
    assert "client tool asked: ask_user_location" in lines and "assistant: You are in Lyon." in lines
