"""`web_search` and `run_code` inside an agent conversation: a real server, the fake LLM, and the local Tavily and
E2B servers reached through the real SDKs."""

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.fakes.e2b_server import FakeE2B
from tests.fakes.llm_server import FakeLLM, text, tool_call
from tests.fakes.tavily_server import FakeTavily
from tests.support.server import ServerProcess, fresh_database_url

EXAMPLES = Path(__file__).parents[2] / "examples"


@pytest.fixture(scope="module")
def services() -> Iterator[tuple[FakeTavily, FakeE2B]]:
    tavily, e2b = FakeTavily().start(), FakeE2B().start()
    yield tavily, e2b
    tavily.stop()
    e2b.stop()


@pytest.fixture(scope="module")
def cloud_server(
    backend: str, fake_llm: FakeLLM, services: tuple[FakeTavily, FakeE2B], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    tavily, e2b = services
    home = tmp_path_factory.mktemp(f"cloud-{backend}")
    env = {
        "OPENAI_API_KEY": fake_llm.api_key, "OPENAI_BASE_URL": fake_llm.url,
        "TAVILY_BASE_URL": tavily.url, "E2B_API_URL": e2b.url, "E2B_SANDBOX_URL": e2b.url,
        "E2B_API_KEY": e2b.api_key,
    }
    proc = ServerProcess(home, fresh_database_url(backend, home), **env).start()
    yield proc
    proc.stop()


def create_agent(http: httpx.Client, **fields) -> dict:
    assert http.get("/v1/tools/").status_code == 200  # the base tools exist once listed
    body = {
        "name": f"agent_{uuid.uuid4().hex[:8]}", "agent_type": "letta_v1_agent", "model": "openai/fake-model",
        "embedding": "openai/text-embedding-3-small", "tools": ["web_search", "run_code"], **fields,
    }
    answer = http.post("/v1/agents/", json=body)
    assert answer.status_code == 200, answer.text
    return answer.json()


def send(http: httpx.Client, agent_id: str, content: str) -> list[dict]:
    answer = http.post(f"/v1/agents/{agent_id}/messages", json={"messages": [{"role": "user", "content": content}]})
    assert answer.status_code == 200, answer.text
    return answer.json()["messages"]


def test_web_search_uses_the_agents_key_and_the_model_reads_the_sources(
    cloud_server: ServerProcess, llm: FakeLLM, services: tuple[FakeTavily, FakeE2B]
):
    tavily, _ = services
    tavily.pages["toolhub"] = [{"title": "Toolhub", "url": "https://example.com/t", "content": "A tool hub."}]
    with cloud_server.client() as http:
        agent = create_agent(http, secrets={"TAVILY_API_KEY": tavily.api_key})
        llm.script(tool_call("web_search", {"tasks": [{"query": "toolhub", "question": "What is it?"}]}),
                   text("It is a tool hub."))
        messages = send(http, agent["id"], "Search for toolhub")
    returned = messages[1]
    assert returned["message_type"] == "tool_return_message" and returned["status"] == "success"
    result = json.loads(returned["tool_return"])
    assert result["api_key_source"] == "agent_environment"
    assert result["results"]["toolhub"]["sources"][0]["url"] == "https://example.com/t"
    assert "https://example.com/t" in json.dumps(llm.requests[-1]["messages"])
    assert messages[-1]["content"] == "It is a tool hub."


def test_web_search_without_a_key_is_a_tool_error(cloud_server: ServerProcess, llm: FakeLLM):
    with cloud_server.client() as http:
        agent = create_agent(http)
        llm.script(tool_call("web_search", {"tasks": [{"query": "q", "question": "?"}]}), text("No luck."))
        messages = send(http, agent["id"], "Search")
    assert messages[1]["status"] == "error"
    assert "TAVILY_API_KEY is not set" in messages[1]["tool_return"]


def test_run_code_runs_in_e2b_and_returns_json(
    cloud_server: ServerProcess, llm: FakeLLM, services: tuple[FakeTavily, FakeE2B]
):
    _, e2b = services
    before = len(e2b.sandboxes)
    with cloud_server.client() as http:
        agent = create_agent(http)
        llm.script(tool_call("run_code", {"code": "print('hi')\nsum(range(10))", "language": "python"}),
                   text("45"))
        messages = send(http, agent["id"], "Add up 0..9")
    assert messages[1]["status"] == "success", messages[1]
    assert json.loads(messages[1]["tool_return"]) == {"results": ["45"], "logs": {"stdout": ["hi\n"], "stderr": []}}
    assert len(e2b.sandboxes) == before + 1
    assert not any(box.alive for box in e2b.sandboxes.values())


COUNTER_SOURCE = '''def whoami() -> str:
    """Report the agent's token.

    Returns:
        str: The token.
    """
    import os
    return "token=" + os.environ["SERVICE_TOKEN"]
'''


def test_a_tool_marked_for_e2b_runs_in_one_reused_sandbox_per_agent(
    cloud_server: ServerProcess, llm: FakeLLM, services: tuple[FakeTavily, FakeE2B]
):
    _, e2b = services
    with cloud_server.client() as http:
        created = http.put("/v1/tools/", json={"source_code": COUNTER_SOURCE})
        assert created.status_code == 200, created.text
        moved = http.patch(f"/v1/tools/{created.json()['id']}", json={"metadata_": {"sandbox": "e2b"}})
        assert moved.status_code == 200, moved.text
        agent = create_agent(http, tools=["whoami"], secrets={"SERVICE_TOKEN": "tok-7-secret-value"})
        before = set(e2b.sandboxes)
        for _ in range(3):
            llm.script(tool_call("whoami", {}), text("done"))
            messages = send(http, agent["id"], "Who am I?")
            assert messages[1]["status"] == "success", messages[1]
            assert messages[1]["tool_return"] == "token=[REDACTED]"
    (new,) = [e2b.sandboxes[sid] for sid in set(e2b.sandboxes) - before]
    assert new.metadata["toolhub_owner"].endswith(f"/agent/{agent['id']}")
    assert len(new.executions) == 3 and new.executions[0]["env_vars"]["SERVICE_TOKEN"] == "tok-7-secret-value"


def test_tools_run_calls_web_search_with_the_key_from_env_vars(
    cloud_server: ServerProcess, services: tuple[FakeTavily, FakeE2B]
):
    tavily, _ = services
    tavily.pages["run route"] = [{"title": "R", "url": "https://example.com/r", "content": "route"}]
    with cloud_server.client() as http:
        (tool,) = [t for t in http.get("/v1/tools/", params={"name": "web_search"}).json()]
        body = {"args": {"tasks": [{"query": "run route", "question": "?"}]},
                "env_vars": {"TAVILY_API_KEY": tavily.api_key}}
        answer = http.post(f"/v1/tools/{tool['id']}/run", json=body)
        missing = http.post(f"/v1/tools/{tool['id']}/run", json={"args": body["args"]})
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "success"
    assert json.loads(answer.json()["tool_return"])["results"]["run route"]["sources"][0]["title"] == "R"
    assert missing.json()["status"] == "error" and "TAVILY_API_KEY is not set" in missing.json()["tool_return"]


def test_the_web_search_example_runs(make_server, fake_llm: FakeLLM, llm: FakeLLM,
                                     services: tuple[FakeTavily, FakeE2B]):
    tavily, e2b = services
    tavily.pages["Lisbon population"] = [{"title": "Lisbon", "url": "https://example.com/l", "content": "545,000"}]
    server = make_server(
        OPENAI_API_KEY=fake_llm.api_key, OPENAI_BASE_URL=fake_llm.url, TAVILY_API_KEY=tavily.api_key,
        TAVILY_BASE_URL=tavily.url, E2B_API_KEY=e2b.api_key, E2B_API_URL=e2b.url, E2B_SANDBOX_URL=e2b.url,
    )
    llm.script(
        tool_call("web_search", {"tasks": [{"query": "Lisbon population", "question": "How many?"}]}),
        tool_call("run_code", {"code": "round(545000 / 100.05)", "language": "python"}),
        text("About 5447 people per km²."),
    )
    env = {**os.environ, "TOOLHUB_URL": server.base_url, "TOOLHUB_MODEL": "openai/fake-model"}
    done = subprocess.run([sys.executable, str(EXAMPLES / "web_search.py")], env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert "https://example.com/l" in done.stdout and '"5447"' in done.stdout
    assert "agent: About 5447 people per km²." in done.stdout
