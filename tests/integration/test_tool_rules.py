"""Tool rules end to end: a real server, real sandboxes, the fake LLM, and both official SDK generations.

What the model was offered (`llm.requests`) shows the rules at work before a call; the stored messages show what
happened to the calls the model made anyway."""

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from letta_client import (
    ChildToolRule,
    InitToolRule,
    Letta,
    MessageCreate,
    RequiredBeforeExitToolRule,
    TerminalToolRule,
)

from tests.fakes.llm_server import FakeLLM, text, tool_call
from tests.integration.test_agent_loop import create_agent, create_tool, llm_env, send, unique
from tests.support.sdk1 import run_letta1
from tests.support.server import ServerProcess, fresh_database_url


def step_source(name: str) -> str:
    return f'''def {name}(note: str) -> str:
    """Record one step of a workflow.

    Args:
        note: Free text.

    Returns:
        str: What ran.
    """
    return "{name} ran: " + note
'''


def answer_source(name: str, value: str) -> str:
    return f'''def {name}() -> str:
    """Answer with a fixed word.

    Returns:
        str: The word.
    """
    return "{value}"
'''


@pytest.fixture(scope="module")
def rules_server(backend: str, fake_llm: FakeLLM, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    home = tmp_path_factory.mktemp(f"rules-{backend}")
    proc = ServerProcess(home, fresh_database_url(backend, home), **llm_env(fake_llm)).start()
    yield proc
    proc.stop()


@pytest.fixture
def http(rules_server: ServerProcess) -> Iterator[httpx.Client]:
    with rules_server.client() as client:
        yield client


def steps(http: httpx.Client, *prefixes: str) -> list[str]:
    """Fresh step tools (names are unique per test: tools are shared by the organization)."""
    names = [unique(prefix) for prefix in prefixes]
    for name in names:
        create_tool(http, step_source(name))
    return names


def offered(request: dict) -> list[str]:
    return [tool["function"]["name"] for tool in request.get("tools") or ()]


def heartbeat(name: str, **args) -> dict:
    return {"inner_thoughts": f"calling {name}", **args, "request_heartbeat": True}


# -- validation ----------------------------------------------------------------------------------------------------


def test_rules_are_checked_on_create_and_modify(http: httpx.Client):
    (step,) = steps(http, "valid")
    body = {"name": unique("agent"), "model": "openai/fake-model", "embedding": "openai/text-embedding-3-small",
            "tools": [step]}
    unknown = http.post("/v1/agents/", json={**body, "tool_rules": [{"type": "run_sometimes", "tool_name": step}]})
    assert unknown.status_code == 422
    missing = http.post("/v1/agents/", json={**body, "tool_rules": [
        {"type": "constrain_child_tools", "tool_name": step, "children": ["ghost_tool", "phantom_tool"]}
    ]})
    assert missing.status_code == 400
    assert missing.json()["detail"] == "Tool rules name tools the agent does not have: ['ghost_tool', 'phantom_tool']"
    empty = http.post("/v1/agents/", json={**body, "tool_rules": [
        {"type": "conditional", "tool_name": step, "child_output_mapping": {}}
    ]})
    assert empty.status_code == 400 and "needs at least one child_output_mapping" in empty.json()["detail"]
    agent = create_agent(http, tools=[step])
    patched = http.patch(f"/v1/agents/{agent['id']}", json={"tool_rules": [{"type": "exit_loop", "tool_name": "nope"}]})
    assert patched.status_code == 400 and "['nope']" in patched.json()["detail"]
    bad_type = http.patch(f"/v1/agents/{agent['id']}", json={"tool_rules": [{"type": "exit", "tool_name": step}]})
    assert bad_type.status_code == 422
    fine = http.patch(f"/v1/agents/{agent['id']}", json={"tool_rules": [{"type": "exit_loop", "tool_name": step}]})
    assert fine.status_code == 200 and fine.json()["tool_rules"][0]["prompt_template"].startswith("<tool_rule>")


# -- letta-client 0.1.197 ------------------------------------------------------------------------------------------


def test_a_compliant_chain_init_child_terminal_with_letta_client_0_1(rules_server: ServerProcess, llm: FakeLLM):
    sdk = Letta(base_url=rules_server.base_url)
    with rules_server.client() as http:
        first, second, finish = steps(http, "step_a", "step_b", "finish")
    agent = sdk.agents.create(
        name=unique("chain"),
        model="openai/fake-model",
        embedding="openai/text-embedding-3-small",
        tools=[first, second, finish],
        tool_rules=[
            InitToolRule(tool_name=first),
            ChildToolRule(tool_name=first, children=[second]),
            TerminalToolRule(tool_name=finish),
        ],
    )
    assert agent.agent_type == "memgpt_agent"
    assert [(r.type, r.tool_name) for r in agent.tool_rules][:3] == [
        ("run_first", first), ("constrain_child_tools", first), ("exit_loop", finish)
    ]
    llm.script(
        tool_call(first, heartbeat(first, note="1")),
        tool_call(second, heartbeat(second, note="2")),
        tool_call(finish, heartbeat(finish, note="3")),
    )
    response = sdk.agents.messages.create(agent_id=agent.id, messages=[MessageCreate(role="user", content="go")])
    returns = [m.tool_return for m in response.messages if m.message_type == "tool_return_message"]
    assert returns == [f"{first} ran: 1", f"{second} ran: 2", f"{finish} ran: 3"]
    assert response.stop_reason.stop_reason == "tool_rule"
    one, two, three = llm.requests
    assert offered(one) == [first] and one["tool_choice"] == {"type": "function", "function": {"name": first}}
    assert offered(two) == [second] and two["tool_choice"]["function"]["name"] == second
    assert set(offered(three)) >= {first, second, finish, "send_message"} and three["tool_choice"] == "required"
    system = one["messages"][0]["content"]
    assert "<tool_usage_rules>" in system
    assert f"<tool_rule>\nAfter using {first}, you must use one of these tools: {second}\n</tool_rule>" in system
    assert "Continuing: child tool rule." in two["messages"][-1]["content"]


def test_a_forbidden_call_is_not_executed_the_model_reads_why_and_the_loop_goes_on(
    rules_server: ServerProcess, llm: FakeLLM
):
    sdk = Letta(base_url=rules_server.base_url)
    with rules_server.client() as http:
        (first,) = steps(http, "start")
    agent = sdk.agents.create(
        name=unique("forbidden"),
        model="openai/fake-model",
        embedding="openai/text-embedding-3-small",
        memory_blocks=[{"label": "human", "value": "Unchanged."}],
        tools=[first],
        tool_rules=[InitToolRule(tool_name=first)],
    )
    llm.script(
        tool_call("core_memory_append", heartbeat("core_memory_append", label="human", content="Hacked.")),
        tool_call(first, heartbeat(first, note="ok")),
        tool_call("send_message", {"inner_thoughts": "done", "message": "Done."}),
    )
    response = sdk.agents.messages.create(agent_id=agent.id, messages=[MessageCreate(role="user", content="go")])
    rejected = next(m for m in response.messages if m.message_type == "tool_return_message")
    assert rejected.status == "error"
    assert rejected.tool_return == (
        f"[ToolConstraintError] Cannot call core_memory_append, valid tools include: ['{first}']."
    )
    assert response.messages[-1].content == "Done." and response.stop_reason.stop_reason == "end_turn"
    assert sdk.agents.blocks.retrieve(agent_id=agent.id, block_label="human").value == "Unchanged."
    second = llm.requests[1]["messages"]
    assert json.loads(second[-2]["content"])["message"].startswith("[ToolConstraintError]")
    assert "Continuing: tool rule violation." in second[-1]["content"]
    assert llm.requests[1]["tool_choice"] == {"type": "function", "function": {"name": first}}  # still first


def test_required_before_exit_keeps_a_terminal_tool_from_ending_the_turn(rules_server: ServerProcess, llm: FakeLLM):
    sdk = Letta(base_url=rules_server.base_url)
    with rules_server.client() as http:
        (audit,) = steps(http, "audit")
    agent = sdk.agents.create(
        name=unique("required"), model="openai/fake-model", embedding="openai/text-embedding-3-small", tools=[audit],
        tool_rules=[RequiredBeforeExitToolRule(tool_name=audit)],
    )
    llm.script(
        tool_call("send_message", {"inner_thoughts": "early", "message": "Bye too soon."}),
        tool_call(audit, heartbeat(audit, note="checked")),
        tool_call("send_message", {"inner_thoughts": "now", "message": "Bye."}),
    )
    response = sdk.agents.messages.create(agent_id=agent.id, messages=[MessageCreate(role="user", content="finish")])
    assert [m.content for m in response.messages if m.message_type == "assistant_message"] == ["Bye too soon.", "Bye."]
    assert response.stop_reason.stop_reason == "end_turn" and len(llm.requests) == 3
    reason = json.loads(llm.requests[1]["messages"][-1]["content"])["reason"]
    assert reason.endswith(f"Continuing, user expects these tools: [{audit}] to be called still.")


def test_required_before_exit_within_max_steps(rules_server: ServerProcess, llm: FakeLLM):
    with rules_server.client() as http:
        (audit,) = steps(http, "audit")
        agent = create_agent(http, tools=[audit], tool_rules=[{"type": "required_before_exit", "tool_name": audit}])
        llm.script(text("No."), text("Still no."), text("Never."))
        body = send(http, agent["id"], "finish up", max_steps=3).json()
    assert body["stop_reason"]["stop_reason"] == "max_steps" and len(llm.requests) == 3


def test_rules_that_leave_no_tool_are_a_clear_409(rules_server: ServerProcess, llm: FakeLLM):
    with rules_server.client() as http:
        first, second = steps(http, "first", "second")
        agent = create_agent(http, tools=[first, second], tool_rules=[
            {"type": "constrain_child_tools", "tool_name": first, "children": [second]},
            {"type": "max_count_per_step", "tool_name": second, "max_count_limit": 0},
        ])
        llm.script(tool_call(first, {"note": "x"}))
        answer = send(http, agent["id"], "go")
    assert answer.status_code == 409 and answer.json()["code"] == "tool_rules_conflict"
    detail = answer.json()["detail"]
    assert f"constrain_child_tools rule on '{first}'" in detail and f"max_count_per_step rule on '{second}'" in detail
    assert len(llm.requests) == 1  # nothing offered blindly after the conflict


# -- letta-client 1.12.1 -------------------------------------------------------------------------------------------

LETTA1_RULES = """
import json, sys
from letta_client import Letta

base_url, flip_source, right_source, left_source, count_source = sys.argv[1:6]
client = Letta(base_url=base_url, max_retries=0)
flip = client.tools.create(source_code=flip_source)
right = client.tools.create(source_code=right_source)
left = client.tools.create(source_code=left_source)
counted = client.tools.create(source_code=count_source)
agent = client.agents.create(
    model="openai/fake-model", embedding="openai/text-embedding-3-small",
    tool_ids=[flip.id, right.id, left.id, counted.id],
    tool_rules=[
        {"type": "conditional", "tool_name": flip.name,
         "child_output_mapping": {"right": right.name, "left": left.name}},
        {"type": "max_count_per_step", "tool_name": counted.name, "max_count_limit": 2},
    ],
)
branched = client.agents.messages.create(agent_id=agent.id, input="flip it")
counting = client.agents.messages.create(agent_id=agent.id, input="count")
print(json.dumps({
    "agent_type": agent.agent_type,
    "rule_types": [r.type for r in agent.tool_rules],
    "branched": [[m.message_type, getattr(m, "tool_return", None)] for m in branched.messages],
    "counting": [
        [m.message_type, getattr(m, "status", None), getattr(m, "tool_return", None)] for m in counting.messages
    ],
    "stop": [branched.stop_reason.stop_reason, counting.stop_reason.stop_reason],
    "names": [flip.name, right.name, left.name, counted.name],
}))
"""


def test_conditional_branching_and_max_count_with_letta_client_1_x(rules_server: ServerProcess, llm: FakeLLM):
    flip, right, left, counted = (unique(p) for p in ("flip", "go_right", "go_left", "counted"))
    llm.script(
        tool_call(flip, {}),
        tool_call(right, {"note": "went right"}),
        text("Went right."),
        tool_call(counted, {}), tool_call(counted, {}), tool_call(counted, {}), text("Counted."),
    )
    seen = run_letta1(
        LETTA1_RULES, rules_server.base_url, answer_source(flip, "right"), step_source(right), step_source(left),
        answer_source(counted, "one more"),
    )
    assert seen["agent_type"] == "letta_v1_agent" and seen["rule_types"] == ["conditional", "max_count_per_step"]
    assert seen["branched"][1] == ["tool_return_message", "right"]  # a plain string output branches
    after_flip = llm.requests[1]
    assert offered(after_flip) == [right]
    assert after_flip["tool_choice"] == {"type": "function", "function": {"name": right}}
    assert seen["branched"][3] == ["tool_return_message", f"{right} ran: went right"]
    statuses = [status for kind, status, _ in seen["counting"] if kind == "tool_return_message"]
    assert statuses == ["success", "success", "error"]  # a limit of 2 allows two calls, not one
    assert seen["counting"][-2][2].startswith(f"[ToolConstraintError] Cannot call {counted}")
    assert counted not in offered(llm.requests[-1]) and llm.requests[-1]["tool_choice"] == "auto"
    assert seen["stop"] == ["end_turn", "end_turn"]


LETTA1_CHAIN = """
import json, sys
from letta_client import Letta

base_url, first_source, second_source, finish_source = sys.argv[1:5]
client = Letta(base_url=base_url, max_retries=0)
tools = [client.tools.create(source_code=source) for source in (first_source, second_source, finish_source)]
first, second, finish = (tool.name for tool in tools)
agent = client.agents.create(
    model="openai/fake-model", embedding="openai/text-embedding-3-small", tool_ids=[t.id for t in tools],
    tool_rules=[
        {"type": "run_first", "tool_name": first},
        {"type": "constrain_child_tools", "tool_name": first, "children": [second]},
        {"type": "exit_loop", "tool_name": finish},
    ],
)
stream = client.agents.messages.stream(agent_id=agent.id, messages=[{"role": "user", "content": "go"}])
events = [[c.message_type, getattr(c, "tool_return", None), getattr(c, "stop_reason", None)] for c in stream]
print(json.dumps(events))
"""


def test_a_streamed_chain_stops_on_its_terminal_tool_with_letta_client_1_x(rules_server: ServerProcess, llm: FakeLLM):
    first, second, finish = (unique(p) for p in ("s1", "s2", "done"))
    llm.script(
        tool_call(second, {"note": "too early"}),
        tool_call(first, {"note": "a"}),
        tool_call(second, {"note": "b"}),
        tool_call(finish, {"note": "c"}),
        text("never asked"),
    )
    events = run_letta1(LETTA1_CHAIN, rules_server.base_url, *(step_source(n) for n in (first, second, finish)))
    returns = [tool_return for kind, tool_return, _ in events if kind == "tool_return_message"]
    assert returns[0].startswith(f"[ToolConstraintError] Cannot call {second}, valid tools include: ['{first}'].")
    assert returns[1:] == [f"{first} ran: a", f"{second} ran: b", f"{finish} ran: c"]
    assert [e for e in events if e[0] == "stop_reason"] == [["stop_reason", None, "tool_rule"]]
    assert len(llm.requests) == 4


# -- the example ---------------------------------------------------------------------------------------------------


def test_the_tool_rules_example_runs(rules_server: ServerProcess, llm: FakeLLM):
    llm.script(
        tool_call("refund_order", {"inner_thoughts": "skip ahead", "order_id": "A-17", "request_heartbeat": True}),
        tool_call("fetch_order", {"inner_thoughts": "look it up", "order_id": "A-17", "request_heartbeat": True}),
        tool_call("refund_order", {"inner_thoughts": "refund", "order_id": "A-17", "request_heartbeat": True}),
        tool_call("send_message", {"inner_thoughts": "tell them", "message": "Refunded A-17."}),
    )
    env = {**os.environ, "TOOLHUB_URL": rules_server.base_url, "TOOLHUB_MODEL": "openai/fake-model",
           "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    script = Path(__file__).parents[2] / "examples" / "tool_rules.py"
    done = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    rejected = "return (error): [ToolConstraintError] Cannot call refund_order, valid tools include: ['fetch_order']."
    assert rejected in done.stdout
    assert "return (success): A-17: paid, 42.00 EUR" in done.stdout
    assert "return (success): Refund of 42.00 EUR for A-17 started" in done.stdout
    assert "assistant: Refunded A-17." in done.stdout and "stop reason: end_turn" in done.stdout
    assert offered(llm.requests[0]) == offered(llm.requests[1]) == ["fetch_order"]
    assert set(offered(llm.requests[2])) == {"refund_order", "send_message"}
