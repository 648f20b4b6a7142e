"""The step loop end to end: a real server, real sandboxes, the fake OpenAI-compatible LLM, and both official
SDK generations as clients."""

import hashlib
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from letta_client import Letta, MessageCreate

from tests.fakes.llm_server import FakeLLM, error, text, tool_call
from tests.support.sdk1 import run_letta1
from tests.support.server import ServerProcess, fresh_database_url

SECRET = "s3cr3t-value-0042"
SECRET_SOURCE = '''def secret_digest() -> str:
    """Report the agent's secret, and a digest of it that redaction leaves alone.

    Returns:
        str: The secret and its SHA-256.
    """
    import hashlib
    import os

    value = os.environ["SERVICE_TOKEN"]
    return value + " " + hashlib.sha256(value.encode()).hexdigest()
'''
DIVIDE_SOURCE = '''def divide(a: int, b: int) -> float:
    """Divide a by b.

    Args:
        a: Dividend.
        b: Divisor.

    Returns:
        float: The quotient.
    """
    return a / b
'''
BIG_SOURCE = '''def big_output() -> str:
    """Return a long text.

    Returns:
        str: 100,000 characters.
    """
    return "x" * 100_000
'''
SLOW_SOURCE = '''def slow_step(n: int) -> int:
    """Sleep a little, then echo n.

    Args:
        n: Step number.

    Returns:
        int: n.
    """
    import time

    time.sleep(0.4)
    return n
'''


def llm_env(fake: FakeLLM) -> dict[str, str]:
    return {"OPENAI_API_KEY": fake.api_key, "OPENAI_BASE_URL": fake.url}


@pytest.fixture(scope="module")
def agent_server(backend: str, fake_llm: FakeLLM, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    home = tmp_path_factory.mktemp(f"agents-{backend}")
    proc = ServerProcess(home, fresh_database_url(backend, home), **llm_env(fake_llm)).start()
    yield proc
    proc.stop()


@pytest.fixture
def sdk(agent_server: ServerProcess) -> Letta:
    return Letta(base_url=agent_server.base_url)


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


def create_tool(http: httpx.Client, source: str, **fields) -> dict:
    answer = http.put("/v1/tools/", json={"source_code": source, **fields})
    assert answer.status_code == 200, answer.text
    return answer.json()


def create_agent(http: httpx.Client, *, agent_type: str = "letta_v1_agent", tools=(), **fields) -> dict:
    body = {
        "name": unique("agent"),
        "agent_type": agent_type,
        "model": "openai/fake-model",
        "embedding": "openai/text-embedding-3-small",
        "memory_blocks": [{"label": "human", "value": "The user is a tester."}],
        "tools": list(tools),
        **fields,
    }
    answer = http.post("/v1/agents/", json=body)
    assert answer.status_code == 200, answer.text
    return answer.json()


def send(http: httpx.Client, agent_id: str, content: str, **fields) -> httpx.Response:
    return http.post(f"/v1/agents/{agent_id}/messages", json={"messages": [{"role": "user", "content": content}], **fields})


def types(messages: list[dict]) -> list[str]:
    return [m["message_type"] for m in messages]


def test_letta_v1_agent_calls_a_tool_with_its_secret_then_answers(agent_server: ServerProcess, llm: FakeLLM):
    with agent_server.client() as http:
        create_tool(http, SECRET_SOURCE)
        agent = create_agent(http, tools=["secret_digest"], secrets={"SERVICE_TOKEN": SECRET})
        llm.script(tool_call("secret_digest", {}), text("The digest is ready."))
        answer = send(http, agent["id"], "What is the digest?")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert types(body["messages"]) == ["tool_call_message", "tool_return_message", "assistant_message"]
    returned = body["messages"][1]
    digest = hashlib.sha256(SECRET.encode()).hexdigest()
    assert returned["status"] == "success"
    assert returned["tool_return"] == f"[REDACTED] {digest}"  # the tool saw the secret; its value is not echoed
    assert body["messages"][2]["content"] == "The digest is ready."
    assert body["stop_reason"]["stop_reason"] == "end_turn"
    assert body["usage"]["step_count"] == 2 and body["usage"]["total_tokens"] > 0
    # what the model was sent: the tool, then (second step) the wrapped tool return
    first, second = llm.requests
    assert "secret_digest" in [t["function"]["name"] for t in first["tools"]]
    assert first["tool_choice"] == "auto"
    assert "<memory_blocks>" in first["messages"][0]["content"] and "The user is a tester." in first["messages"][0]["content"]
    wrapped = json.loads(second["messages"][-1]["content"])
    assert wrapped["status"] == "OK" and wrapped["message"] == f"[REDACTED] {digest}"


def test_memgpt_agent_chains_with_heartbeats_and_speaks_through_send_message(agent_server: ServerProcess, llm: FakeLLM):
    with agent_server.client() as http:
        create_tool(http, DIVIDE_SOURCE)
        agent = create_agent(http, agent_type="memgpt_agent", tools=["divide"])
        llm.script(
            tool_call("divide", {"inner_thoughts": "divide", "a": 9, "b": 3, "request_heartbeat": True}),
            tool_call("send_message", {"inner_thoughts": "tell them", "message": "It is 3."}),
        )
        body = send(http, agent["id"], "9/3?").json()
        history = http.get(f"/v1/agents/{agent['id']}/messages", params={"order": "asc"}).json()
    assert types(body["messages"]) == [
        "reasoning_message", "tool_call_message", "tool_return_message", "reasoning_message", "assistant_message"
    ]
    assert body["messages"][0]["reasoning"] == "divide"
    assert json.loads(body["messages"][1]["tool_call"]["arguments"]) == {"a": 9, "b": 3, "request_heartbeat": True}
    assert body["messages"][2]["tool_return"] == "3.0"
    assert body["messages"][4]["content"] == "It is 3."
    assert body["stop_reason"]["stop_reason"] == "end_turn"
    first, second = llm.requests
    assert first["tool_choice"] == "required" and first["parallel_tool_calls"] is False
    divide = next(t for t in first["tools"] if t["function"]["name"] == "divide")["function"]["parameters"]
    assert list(divide["properties"]) == ["inner_thoughts", "a", "b", "request_heartbeat"]
    heartbeat = json.loads(second["messages"][-1]["content"])
    assert second["messages"][-1]["role"] == "user" and heartbeat["type"] == "heartbeat"
    # the history shows the system prompt, the user's message and the heartbeat too
    assert types(history)[:2] == ["system_message", "user_message"]
    assert sum(1 for m in history if m["message_type"] == "user_message") == 2


def test_a_failing_tool_is_an_error_result_the_model_reads_and_a_long_one_is_cut(agent_server: ServerProcess, llm: FakeLLM):
    with agent_server.client() as http:
        create_tool(http, DIVIDE_SOURCE)
        create_tool(http, BIG_SOURCE, return_char_limit=1000)
        agent = create_agent(http, tools=["divide", "big_output"])
        llm.script(tool_call("divide", {"a": 5, "b": 0}), tool_call("big_output", {}), text("done"))
        body = send(http, agent["id"], "go").json()
    failed = body["messages"][1]
    assert failed["status"] == "error"
    assert failed["tool_return"].startswith("Error executing function divide: ZeroDivisionError: division by zero")
    big = body["messages"][3]["tool_return"]
    assert big.startswith("x" * 1000)
    assert big[1000:] == "... [NOTE: function output was truncated since it exceeded the character limit: 100000 > 1000]"
    assert json.loads(llm.requests[1]["messages"][-1]["content"])["status"] == "Failed"


def test_streaming_sends_each_step_then_stop_reason_usage_and_done(agent_server: ServerProcess, llm: FakeLLM):
    with agent_server.client() as http:
        create_tool(http, DIVIDE_SOURCE)
        agent = create_agent(http, tools=["divide"])
        llm.script(tool_call("divide", {"a": 8, "b": 2}), text("Four."))
        body = {"messages": [{"role": "user", "content": "8/2?"}]}
        with http.stream("POST", f"/v1/agents/{agent['id']}/messages/stream", json=body) as answer:
            assert answer.headers["content-type"].startswith("text/event-stream")
            lines = [line for line in answer.iter_lines() if line.startswith("data: ")]
    assert lines[-1] == "data: [DONE]"
    events = [json.loads(line[6:]) for line in lines[:-1]]
    assert types(events) == ["tool_call_message", "tool_return_message", "assistant_message", "stop_reason", "usage_statistics"]
    assert events[1]["tool_return"] == "4.0" and events[3]["stop_reason"] == "end_turn"


def test_token_streaming_pieces_concatenate_to_the_call_and_the_answer(agent_server: ServerProcess, llm: FakeLLM):
    with agent_server.client() as http:
        create_tool(http, DIVIDE_SOURCE)
        agent = create_agent(http, tools=["divide"])
        llm.script(tool_call("divide", {"a": 10, "b": 4}), text("It is two and a half."))
        body = {"messages": [{"role": "user", "content": "10/4?"}], "stream_tokens": True}
        with http.stream("POST", f"/v1/agents/{agent['id']}/messages/stream", json=body) as answer:
            events = [json.loads(line[6:]) for line in answer.iter_lines() if line.startswith("data: {")]
    calls = [e for e in events if e["message_type"] == "tool_call_message"]
    assert len(calls) > 1 and calls[0]["tool_call"]["name"] == "divide"
    assert json.loads("".join(c["tool_call"]["arguments"] or "" for c in calls)) == {"a": 10, "b": 4}
    texts = [e["content"] for e in events if e["message_type"] == "assistant_message"]
    assert len(texts) > 1 and "".join(texts) == "It is two and a half."
    assert [e for e in events if e["message_type"] == "tool_return_message"][0]["tool_return"] == "2.5"


def test_a_refused_key_is_a_clear_error_and_stores_nothing(
    backend: str, make_server, fake_llm: FakeLLM, llm: FakeLLM
):
    server = make_server(OPENAI_API_KEY="sk-wrong-key-000000", OPENAI_BASE_URL=fake_llm.url)
    with server.client() as http:
        agent = create_agent(http)  # creating never asks the provider
        before = http.get(f"/v1/agents/{agent['id']}/messages").json()
        answer = send(http, agent["id"], "hello")
        after = http.get(f"/v1/agents/{agent['id']}/messages").json()
        with http.stream("POST", f"/v1/agents/{agent['id']}/messages/stream",
                         json={"messages": [{"role": "user", "content": "hello"}]}) as streamed:
            raw = streamed.read().decode()
    assert answer.status_code == 502
    assert answer.json()["code"] == "llm_authentication"
    assert "key" in answer.json()["detail"].lower()
    assert after == before  # no user message without an answer
    assert '"stop_reason": "llm_api_error"' in raw and "event: error" in raw and raw.endswith("data: [DONE]\n\n")


def test_no_provider_configured_is_a_clear_error_at_the_message(make_server):
    server = make_server()
    with server.client() as http:
        agent = create_agent(http)
        answer = send(http, agent["id"], "hello")
    assert answer.status_code == 502
    assert "OPENAI_API_KEY" in answer.json()["detail"]


def test_memory_tools_edit_blocks_the_next_step_sees(agent_server: ServerProcess, llm: FakeLLM):
    with agent_server.client() as http:
        agent = create_agent(http)
        llm.script(
            tool_call("memory_insert", {"label": "human", "new_str": "Favourite colour: green"}),
            tool_call("memory_replace", {"label": "human", "old_str": "absent text", "new_str": "x"}),
            text("Noted."),
        )
        body = send(http, agent["id"], "I like green.").json()
        block = http.get(f"/v1/agents/{agent['id']}/core-memory/blocks/human").json()
    assert [m.get("status") for m in body["messages"] if m["message_type"] == "tool_return_message"] == ["success", "error"]
    assert block["value"] == "The user is a tester.\nFavourite colour: green"
    assert "Favourite colour: green" in llm.requests[1]["messages"][0]["content"]


def test_two_requests_to_one_agent_do_not_interleave(agent_server: ServerProcess, llm: FakeLLM):
    with agent_server.client() as http:
        create_tool(http, SLOW_SOURCE)
        agent = create_agent(http, tools=["slow_step"])
    llm.script(tool_call("slow_step", {"n": 1}), text("one"), tool_call("slow_step", {"n": 2}), text("two"))
    answers: list[dict] = []

    def ask(content: str) -> None:
        with agent_server.client() as http:
            answers.append(send(http, agent["id"], content).json())

    threads = [threading.Thread(target=ask, args=(f"ask {n}",)) for n in (1, 2)]
    for thread in threads:
        thread.start()
        time.sleep(0.05)
    for thread in threads:
        thread.join()
    finals = sorted(a["messages"][-1]["content"] for a in answers)
    assert finals == ["one", "two"]
    with agent_server.client() as http:
        history = http.get(f"/v1/agents/{agent['id']}/messages", params={"order": "asc", "limit": 100}).json()
    # each turn's run is contiguous: user, call, return, answer, then the next turn
    run_ids = [m["run_id"] for m in history if m["message_type"] != "system_message"]
    assert run_ids == sorted(run_ids, key=run_ids.index) and len(set(run_ids)) == 2
    first_run = run_ids[0]
    assert run_ids[: run_ids.count(first_run)] == [first_run] * run_ids.count(first_run)


def test_killed_during_a_ten_step_turn_keeps_finished_steps_and_answers_after_restart(
    backend: str, fake_llm: FakeLLM, llm: FakeLLM, tmp_path
):
    home = tmp_path / "home"
    url = fresh_database_url(backend, home)
    server = ServerProcess(home, url, **llm_env(fake_llm)).start()
    with server.client() as http:
        create_tool(http, SLOW_SOURCE)
        agent = create_agent(http, tools=["slow_step"])
    llm.script(*[tool_call("slow_step", {"n": n}) for n in range(10)], text("all done"))
    def ask_and_lose_the_answer() -> None:
        with pytest.raises(httpx.HTTPError):  # the server dies before answering
            send(server.client(), agent["id"], "ten steps")

    thread = threading.Thread(target=ask_and_lose_the_answer, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while len(llm.requests) < 4 and time.monotonic() < deadline:
        time.sleep(0.05)
    server.kill()
    restarted = ServerProcess(home, url, **llm_env(fake_llm))
    restarted.port, restarted.base_url = server.port, server.base_url
    restarted.start()
    try:
        with restarted.client() as http:
            stored = http.get(f"/v1/agents/{agent['id']}/messages", params={"order": "asc", "limit": 1000}).json()
            calls = [m for m in stored if m["message_type"] == "tool_call_message"]
            returns = [m for m in stored if m["message_type"] == "tool_return_message"]
            assert 3 <= len(calls) <= len(returns) + 1  # at most the step in flight is lost
            llm.reset()
            llm.script(text("I am back."))
            answer = send(http, agent["id"], "still there?")
        assert answer.status_code == 200, answer.text
        assert answer.json()["messages"][-1]["content"] == "I am back."
        sent = llm.requests[0]["messages"]
        call_ids = {c["id"] for m in sent if m["role"] == "assistant" for c in m.get("tool_calls") or ()}
        return_ids = {m["tool_call_id"] for m in sent if m["role"] == "tool"}
        assert call_ids == return_ids  # an interrupted call is answered, never left open
    finally:
        restarted.stop()


def test_letta_client_0_1_runs_a_legacy_agent(sdk: Letta, llm: FakeLLM):
    tool = sdk.tools.upsert(source_code=DIVIDE_SOURCE)
    agent = sdk.agents.create(
        name=unique("legacy"),
        model="openai/fake-model",
        embedding="openai/text-embedding-3-small",
        memory_blocks=[{"label": "persona", "value": "I am careful."}],
        tool_ids=[tool.id],
    )
    assert agent.agent_type == "memgpt_agent"  # what Letta 0.8 gave an old client
    llm.script(
        tool_call("divide", {"inner_thoughts": "compute", "a": 1, "b": 4, "request_heartbeat": True}),
        tool_call("send_message", {"inner_thoughts": "answer", "message": "A quarter."}),
    )
    response = sdk.agents.messages.create(agent_id=agent.id, messages=[MessageCreate(role="user", content="1/4?")])
    kinds = [m.message_type for m in response.messages]
    assert kinds == ["reasoning_message", "tool_call_message", "tool_return_message", "reasoning_message", "assistant_message"]
    assert response.messages[2].tool_return == "0.25"
    assert response.messages[-1].content == "A quarter."
    assert response.stop_reason.stop_reason == "end_turn"
    llm.script(tool_call("send_message", {"inner_thoughts": "again", "message": "Streamed."}))
    chunks = list(sdk.agents.messages.create_stream(agent_id=agent.id, messages=[MessageCreate(role="user", content="hi")]))
    assert [getattr(c, "message_type", None) for c in chunks] == [
        "reasoning_message", "assistant_message", "stop_reason", "usage_statistics"
    ]
    listed = sdk.agents.messages.list(agent_id=agent.id, limit=4)
    assert listed[-1].message_type == "assistant_message" and listed[-1].content == "Streamed."


LETTA1_SCRIPT = """
import json, sys
from letta_client import Letta

base_url, source = sys.argv[1:3]
client = Letta(base_url=base_url, max_retries=0)
tool = client.tools.create(source_code=source)
agent = client.agents.create(
    model="openai/fake-model", embedding="openai/text-embedding-3-small",
    memory_blocks=[{"label": "human", "value": "A 1.x user."}], tool_ids=[tool.id], secrets={"SERVICE_TOKEN": "s3cr3t-value-0042"},
)
response = client.agents.messages.create(agent_id=agent.id, messages=[{"role": "user", "content": "digest?"}])
stream = client.agents.messages.stream(agent_id=agent.id, messages=[{"role": "user", "content": "again"}])
streamed = [chunk.message_type for chunk in stream]
print(json.dumps({
    "agent_type": agent.agent_type,
    "types": [m.message_type for m in response.messages],
    "tool_return": response.messages[1].tool_return,
    "tool_calls": [c.name for c in response.messages[0].tool_calls],
    "answer": response.messages[-1].content,
    "stop_reason": response.stop_reason.stop_reason,
    "run_ids": response.usage.run_ids,
    "streamed": streamed,
    "last_stop_reason": client.agents.retrieve(agent.id).last_stop_reason,
}))
"""


def test_letta_client_1_x_runs_a_letta_v1_agent(agent_server: ServerProcess, llm: FakeLLM):
    llm.script(
        tool_call("secret_digest", {}), text("Here it is."), tool_call("secret_digest", {}), text("Again.")
    )
    seen = run_letta1(LETTA1_SCRIPT, agent_server.base_url, SECRET_SOURCE)
    digest = hashlib.sha256(SECRET.encode()).hexdigest()
    assert seen["agent_type"] == "letta_v1_agent"
    assert seen["types"] == ["tool_call_message", "tool_return_message", "assistant_message"]
    assert seen["tool_calls"] == ["secret_digest"]
    assert seen["tool_return"] == f"[REDACTED] {digest}"
    assert seen["answer"] == "Here it is." and seen["stop_reason"] == "end_turn"
    assert seen["run_ids"] and seen["run_ids"][0].startswith("run-")
    assert seen["streamed"] == ["ping", "tool_call_message", "tool_return_message", "assistant_message", "stop_reason", "usage_statistics"]
    assert seen["last_stop_reason"] == "end_turn"


def test_the_agent_example_runs_against_an_openai_compatible_endpoint(agent_server: ServerProcess, llm: FakeLLM):
    llm.script(
        tool_call("shipping_cost", {"weight_kg": 2, "express": True}),
        tool_call("get_current_time", {"timezone": "UTC"}),
        text("A 2 kg express parcel costs 13.80 EUR."),
    )
    env = {
        **os.environ,
        "TOOLHUB_URL": agent_server.base_url,
        "TOOLHUB_MODEL": "openai/fake-model",
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
    }
    script = Path(__file__).parents[2] / "examples" / "agent_with_tools.py"
    done = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "return: success 13.80 EUR" in done.stdout
    assert '"timezone": "UTC"' in done.stdout and "return: success {" in done.stdout
    assert "assistant: A 2 kg express parcel costs 13.80 EUR." in done.stdout


def test_a_provider_failure_mid_turn_keeps_the_finished_steps(agent_server: ServerProcess, llm: FakeLLM):
    with agent_server.client() as http:
        create_tool(http, DIVIDE_SOURCE)
        agent = create_agent(http, tools=["divide"])
        llm.script(tool_call("divide", {"a": 6, "b": 3}), error(500, "The model is overloaded"))
        answer = send(http, agent["id"], "6/3?")
        history = http.get(f"/v1/agents/{agent['id']}/messages", params={"order": "asc"}).json()
        state = http.get(f"/v1/agents/{agent['id']}").json()
    assert answer.status_code == 502
    assert answer.json()["code"] == "llm_bad_response" and "overloaded" in answer.json()["detail"]
    assert types(history) == ["system_message", "user_message", "tool_call_message", "tool_return_message"]
    assert history[-1]["tool_return"] == "2.0"
    assert state["last_stop_reason"] == "llm_api_error"


def test_reset_preview_and_modify(agent_server: ServerProcess, llm: FakeLLM):
    with agent_server.client() as http:
        agent = create_agent(http)
        llm.script(text("First answer."))
        first = send(http, agent["id"], "first question").json()
        answer_id = first["messages"][-1]["id"]
        edited = http.patch(
            f"/v1/agents/{agent['id']}/messages/{answer_id}",
            json={"message_type": "assistant_message", "content": "Edited answer."},
        )
        preview = http.post(
            f"/v1/agents/{agent['id']}/messages/preview-raw-payload",
            json={"messages": [{"role": "user", "content": "next"}]},
        ).json()
        reset = http.patch(f"/v1/agents/{agent['id']}/reset-messages", json={"add_default_initial_messages": False})
        llm.script(text("Fresh."))
        send(http, agent["id"], "after reset")
        history = http.get(f"/v1/agents/{agent['id']}/messages", params={"order": "asc"}).json()
    assert edited.status_code == 200 and edited.json()["content"] == "Edited answer."
    assert [m["role"] for m in preview["messages"]] == ["system", "user", "assistant", "user"]
    assert preview["messages"][2]["content"] == "Edited answer." and preview["tool_choice"] == "auto"
    assert {t["function"]["name"] for t in preview["tools"]} >= {"memory_insert", "memory_replace"}
    assert reset.status_code == 200 and len(reset.json()["message_ids"]) == 1
    assert [m["role"] for m in llm.requests[-1]["messages"]] == ["system", "user"]
    assert [m.get("content") for m in history if m["message_type"] in ("user_message", "assistant_message")] == [
        "first question", "Edited answer.", "after reset", "Fresh."
    ]
