"""Runs: background message requests, their messages, steps and usage, cancellation, crash recovery, callbacks,
and the bounded worker pool — through httpx and both SDK generations, with the fake LLM."""

import json
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from letta_client import Letta, MessageCreate

from tests.fakes.llm_server import FakeLLM, text, tool_call
from tests.support.sdk1 import run_letta1
from tests.support.server import ServerProcess, fresh_database_url

ADD_SOURCE = '''def add_up(a: int, b: int) -> int:
    """Add two integers.

    Args:
        a: The first.
        b: The second.

    Returns:
        int: The sum.
    """
    return a + b
'''
STUCK_SOURCE = '''def stuck(marker: str) -> str:
    """Start a helper process, then wait ten seconds.

    Args:
        marker: Named in the helper's command line, to find it afterwards.

    Returns:
        str: Never, in these tests.
    """
    import subprocess
    import sys
    import time

    subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", marker])
    time.sleep(10)
    return "finished"
'''
NAP_SOURCE = '''def nap() -> str:
    """Sleep half a second.

    Returns:
        str: "rested".
    """
    import time

    time.sleep(0.5)
    return "rested"
'''
FINAL_STATUSES = ("completed", "failed", "cancelled")


def llm_env(fake: FakeLLM) -> dict[str, str]:
    return {"OPENAI_API_KEY": fake.api_key, "OPENAI_BASE_URL": fake.url}


@pytest.fixture(scope="module")
def runs_server(backend: str, fake_llm: FakeLLM, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    home = tmp_path_factory.mktemp(f"runs-{backend}")
    proc = ServerProcess(home, fresh_database_url(backend, home), TOOLHUB_RUN_WORKERS="4", **llm_env(fake_llm))
    yield proc.start()
    proc.stop()


def create_agent(http: httpx.Client, tools=()) -> dict:
    for source in tools:
        assert http.put("/v1/tools/", json={"source_code": source}).status_code == 200
    names = [source.split("(")[0].removeprefix("def ") for source in tools]
    body = {"agent_type": "letta_v1_agent", "model": "openai/fake-model", "tools": names, "include_base_tools": False}
    answer = http.post("/v1/agents/", json=body)
    assert answer.status_code == 200, answer.text
    return answer.json()


def wait_for(http: httpx.Client, run_id: str, statuses=FINAL_STATUSES, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = http.get(f"/v1/runs/{run_id}").json()
        if run["status"] in statuses:
            return run
        time.sleep(0.05)
    raise AssertionError(f"run {run_id} still {run['status']} after {timeout}s")


def send_async(http: httpx.Client, agent_id: str, content: str, **fields) -> dict:
    body = {"messages": [{"role": "user", "content": content}], **fields}
    answer = http.post(f"/v1/agents/{agent_id}/messages/async", json=body)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_an_async_run_of_five_tool_calls_completes_with_messages_steps_and_usage(runs_server: ServerProcess, llm: FakeLLM):
    with runs_server.client() as http:
        agent = create_agent(http, [ADD_SOURCE])
        llm.script(*[tool_call("add_up", {"a": n, "b": 1}) for n in range(5)], text("Five sums."))
        run = send_async(http, agent["id"], "add five times")
        assert run["id"].startswith("run-") and run["status"] in ("created", "running")
        assert run["background"] is True and run["metadata"]["run_type"] == "send_message_async"
        done = wait_for(http, run["id"])
        messages = http.get(f"/v1/runs/{run['id']}/messages").json()
        steps = http.get(f"/v1/runs/{run['id']}/steps").json()
        usage = http.get(f"/v1/runs/{run['id']}/usage").json()
        listed = http.get("/v1/runs", params={"agent_id": agent["id"]}).json()
    assert (done["status"], done["stop_reason"]) == ("completed", "end_turn")
    assert done["completed_at"] is not None and done["total_duration_ns"] > 0
    returns = [m["tool_return"] for m in messages if m["message_type"] == "tool_return_message"]
    assert returns == ["1", "2", "3", "4", "5"]
    assert messages[0]["message_type"] == "user_message" and messages[-1]["content"] == "Five sums."
    assert len(steps) == 6 and all(step["run_id"] == run["id"] and step["total_tokens"] > 0 for step in steps)
    assert usage["step_count"] == 6 and usage["total_tokens"] == sum(step["total_tokens"] for step in steps)
    assert [r["id"] for r in listed] == [run["id"]]


def test_cancelling_a_run_in_a_ten_second_tool_stops_it_within_a_second_and_kills_the_tool(
    runs_server: ServerProcess, llm: FakeLLM
):
    marker = f"toolhub-cancel-{uuid.uuid4().hex}"
    with runs_server.client() as http:
        agent = create_agent(http, [STUCK_SOURCE])
        llm.script(tool_call("stuck", {"marker": marker}), text("never"))
        run = send_async(http, agent["id"], "get stuck")
        deadline = time.monotonic() + 30
        while subprocess.run(["pgrep", "-f", marker], capture_output=True).returncode != 0:
            assert time.monotonic() < deadline, "the tool never started"
            time.sleep(0.05)
        started = time.monotonic()
        cancelled = http.post(f"/v1/agents/{agent['id']}/messages/cancel", json={"run_ids": [run["id"]]}).json()
        done = wait_for(http, run["id"], timeout=5)
        took = time.monotonic() - started
        messages = http.get(f"/v1/runs/{run['id']}/messages").json()
        state = http.get(f"/v1/agents/{agent['id']}").json()
    assert cancelled == {run["id"]: "cancelled"}
    assert (done["status"], done["stop_reason"]) == ("cancelled", "cancelled")
    assert took < 1.0
    assert subprocess.run(["pgrep", "-f", marker], capture_output=True).returncode == 1  # nothing left behind
    assert [m["message_type"] for m in messages] == ["user_message", "tool_call_message"]  # committed steps stay
    assert state["last_stop_reason"] == "cancelled"


def test_twenty_async_runs_on_four_workers_all_complete_and_waiting_ones_say_so(runs_server: ServerProcess, llm: FakeLLM):
    with runs_server.client() as http:
        agents = [create_agent(http, [NAP_SOURCE]) for _ in range(20)]
        llm.script(*[tool_call("nap", {}) for _ in range(20)], *[text("rested") for _ in range(20)])
        runs = [send_async(http, agent["id"], "hello") for agent in agents]
        done = [wait_for(http, run["id"]) for run in runs]
    assert all((run["status"], run["stop_reason"]) == ("completed", "end_turn") for run in done)
    waited = [run for run in runs if "waiting_for_worker" in run["metadata"]]
    assert waited and "All 4 background workers are busy" in waited[0]["metadata"]["waiting_for_worker"]
    assert all("waiting_for_worker" not in run["metadata"] for run in done)


def test_a_server_killed_during_an_async_run_marks_it_failed_at_restart(backend: str, fake_llm: FakeLLM, llm: FakeLLM, tmp_path):
    home = tmp_path / "home"
    url = fresh_database_url(backend, home)
    server = ServerProcess(home, url, **llm_env(fake_llm)).start()
    with server.client() as http:
        agent = create_agent(http, [STUCK_SOURCE])
        llm.script(tool_call("stuck", {"marker": f"toolhub-kill-{uuid.uuid4().hex}"}))
        run = send_async(http, agent["id"], "get stuck")
        wait_for(http, run["id"], statuses=("running",))
    server.kill()
    restarted = ServerProcess(home, url, **llm_env(fake_llm))
    restarted.start()
    try:
        with restarted.client() as http:
            failed = http.get(f"/v1/runs/{run['id']}").json()
    finally:
        restarted.stop()
    assert (failed["status"], failed["stop_reason"]) == ("failed", "error")
    assert "server stopped" in failed["metadata"]["error"]


class _Receiver(BaseHTTPRequestHandler):
    received: list[dict] = []

    def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
        body = self.rfile.read(int(self.headers["content-length"]))
        type(self).received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args) -> None:
        return None


def test_a_finished_run_is_posted_to_its_callback_url(runs_server: ServerProcess, llm: FakeLLM):
    receiver = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    _Receiver.received.clear()
    try:
        with runs_server.client() as http:
            agent = create_agent(http)
            llm.script(text("done"))
            url = f"http://127.0.0.1:{receiver.server_port}/hook"
            run = send_async(http, agent["id"], "hi", callback_url=url)
            wait_for(http, run["id"])
            deadline = time.monotonic() + 10
            while not http.get(f"/v1/runs/{run['id']}").json()["callback_sent_at"] and time.monotonic() < deadline:
                time.sleep(0.05)
            stored = http.get(f"/v1/runs/{run['id']}").json()
            refused = http.post(
                f"/v1/agents/{agent['id']}/messages/async",
                json={"messages": [{"role": "user", "content": "x"}], "callback_url": "http://169.254.169.254/x"},
            )
    finally:
        receiver.shutdown()
    assert [(r["run_id"], r["status"]) for r in _Receiver.received] == [(run["id"], "completed")]
    assert stored["callback_status_code"] == 204 and stored["callback_error"] is None
    assert refused.status_code == 422 and "metadata" in refused.text


def test_a_streamed_run_can_be_replayed_and_a_sync_run_is_listed(runs_server: ServerProcess, llm: FakeLLM):
    with runs_server.client() as http:
        agent = create_agent(http, [ADD_SOURCE])
        llm.script(tool_call("add_up", {"a": 2, "b": 2}), text("Four."))
        answer = http.post(f"/v1/agents/{agent['id']}/messages", json={"messages": [{"role": "user", "content": "2+2"}]})
        run_id = answer.json()["usage"]["run_ids"][0]
        with http.stream("POST", f"/v1/runs/{run_id}/stream", json={}) as replay:
            events = [line[6:] for line in replay.iter_lines() if line.startswith("data: ")]
        run = http.get(f"/v1/runs/{run_id}").json()
    assert run["background"] is False and run["status"] == "completed"
    assert events[-1] == "[DONE]"
    kinds = [json.loads(event)["message_type"] for event in events[:-1]]
    assert kinds == ["tool_call_message", "tool_return_message", "assistant_message", "stop_reason", "usage_statistics"]


def test_letta_client_0_1_sees_runs(runs_server: ServerProcess, llm: FakeLLM):
    sdk = Letta(base_url=runs_server.base_url)
    with runs_server.client() as http:
        agent = create_agent(http, [ADD_SOURCE])
    llm.script(tool_call("add_up", {"a": 1, "b": 1}), text("Two."))
    run = sdk.agents.messages.create_async(agent_id=agent["id"], messages=[MessageCreate(role="user", content="1+1")])
    with runs_server.client() as http:
        wait_for(http, run.id)
    assert sdk.runs.retrieve(run.id).status == "completed"
    assert [m.message_type for m in sdk.runs.messages.list(run.id)][-1] == "assistant_message"
    assert len(sdk.runs.steps.list(run.id)) == 2
    assert sdk.runs.usage.retrieve(run.id).total_tokens > 0
    assert run.id in [r.id for r in sdk.runs.list(agent_ids=[agent["id"]])]


LETTA1_SCRIPT = """
import json, sys, time
from letta_client import Letta

base_url, agent_id = sys.argv[1:3]
client = Letta(base_url=base_url, max_retries=0)
run = client.agents.messages.create_async(agent_id=agent_id, messages=[{"role": "user", "content": "1+2"}])
while client.runs.retrieve(run.id).status not in ("completed", "failed", "cancelled"):
    time.sleep(0.05)
done = client.runs.retrieve(run.id)
print(json.dumps({
    "created": run.status,
    "status": done.status,
    "stop_reason": done.stop_reason,
    "messages": [m.message_type for m in client.runs.messages.list(run.id)],
    "steps": len(list(client.runs.steps.list(run.id))),
    "usage": client.runs.usage.retrieve(run.id).total_tokens,
    "listed": [r.id for r in client.runs.list(agent_id=agent_id)],
    "cancel": client.agents.messages.cancel(agent_id=agent_id),
}))
"""


def test_letta_client_1_x_runs_async_messages(runs_server: ServerProcess, llm: FakeLLM):
    with runs_server.client() as http:
        agent = create_agent(http, [ADD_SOURCE])
    llm.script(tool_call("add_up", {"a": 1, "b": 2}), text("Three."))
    seen = run_letta1(LETTA1_SCRIPT, runs_server.base_url, agent["id"])
    assert seen["created"] in ("created", "running")
    assert (seen["status"], seen["stop_reason"]) == ("completed", "end_turn")
    assert seen["messages"] == ["user_message", "tool_call_message", "tool_return_message", "assistant_message"]
    assert seen["steps"] == 2 and seen["usage"] > 0
    assert len(seen["listed"]) == 1
    assert seen["cancel"] == {}  # nothing left to cancel


def test_a_supervisor_gets_a_workers_reply_and_a_self_call_is_refused(runs_server: ServerProcess, llm: FakeLLM):
    with runs_server.client() as http:
        body = {"agent_type": "letta_v1_agent", "model": "openai/fake-model", "include_multi_agent_tools": True}
        supervisor = http.post("/v1/agents/", json={**body, "name": "supervisor"}).json()
        worker = http.post("/v1/agents/", json={**body, "name": "worker", "include_multi_agent_tools": False}).json()
        ask = "send_message_to_agent_and_wait_for_reply"
        llm.script(
            tool_call(ask, {"message": "What is 6*7?", "other_agent_id": worker["id"]}),
            text("42"),  # the worker's turn
            tool_call(ask, {"message": "Talk to myself", "other_agent_id": supervisor["id"]}),
            text("The worker says 42."),
        )
        answer = http.post(
            f"/v1/agents/{supervisor['id']}/messages", json={"messages": [{"role": "user", "content": "ask"}]}
        ).json()
        worker_history = http.get(f"/v1/agents/{worker['id']}/messages", params={"order": "asc"}).json()
    returns = [m for m in answer["messages"] if m["message_type"] == "tool_return_message"]
    assert returns[0]["status"] == "success"
    assert json.loads(returns[0]["tool_return"]) == {"agent_id": worker["id"], "response": ["42"]}
    assert returns[1]["status"] == "error" and "cycle of waiting agents" in returns[1]["tool_return"]
    assert answer["messages"][-1]["content"] == "The worker says 42."
    incoming = [m["content"] for m in worker_history if m["message_type"] == "user_message"]
    assert incoming and f"Incoming message from agent with ID '{supervisor['id']}'" in incoming[0]
