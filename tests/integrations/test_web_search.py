"""`web_search` through the real `tavily-python` SDK against the local Tavily server."""

import json

import pytest

from tests.fakes.tavily_server import FakeTavily
from toolhub.integrations.keys import BuiltinToolError
from toolhub.integrations.tavily import web_search

PAGES = [
    {"title": f"Page {n}", "url": f"https://example.com/{n}", "content": f"snippet {n}", "raw_content": f"full {n}"}
    for n in range(5)
]


async def test_each_task_gets_its_sources_with_the_agents_key(tavily: FakeTavily):
    tavily.pages["letta tools"] = PAGES
    tavily.pages["e2b"] = PAGES[:1]
    tasks = [{"query": "letta tools", "question": "What tools?"}, {"query": "e2b", "question": "What is E2B?"}]
    answer = json.loads(await web_search({"TAVILY_API_KEY": tavily.api_key}, tasks, limit=2))
    assert answer["api_key_source"] == "agent_environment"
    first = answer["results"]["letta tools"]
    assert first["question"] == "What tools?"
    assert first["sources"] == [
        {"title": "Page 0", "url": "https://example.com/0", "content": "snippet 0"},
        {"title": "Page 1", "url": "https://example.com/1", "content": "snippet 1"},
    ]
    assert [s["title"] for s in answer["results"]["e2b"]["sources"]] == ["Page 0"]
    assert {body["max_results"] for body in tavily.requests} == {2}
    assert tavily.auth == [f"Bearer {tavily.api_key}"] * 2


async def test_the_servers_key_is_used_when_the_agent_has_none(tavily: FakeTavily, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("TAVILY_API_KEY", tavily.api_key)
    tavily.pages["q"] = PAGES
    answer = json.loads(await web_search({}, [{"query": "q", "question": "?"}], limit=1, return_raw=True))
    assert answer["api_key_source"] == "system_settings"
    assert answer["results"]["q"]["sources"][0]["raw_content"] == "full 0"


async def test_a_missing_key_is_an_error_and_no_keyless_request_is_made(tavily: FakeTavily):
    with pytest.raises(BuiltinToolError, match="TAVILY_API_KEY is not set"):
        await web_search({}, [{"query": "q", "question": "?"}])
    assert tavily.auth == []


async def test_a_failing_task_is_reported_in_its_entry(tavily: FakeTavily):
    tavily.pages["ok"] = PAGES
    tasks = [{"query": "fail", "question": "?"}, {"query": "ok", "question": "?"}]
    answer = json.loads(await web_search({"TAVILY_API_KEY": tavily.api_key}, tasks))
    assert answer["results"]["fail"]["error"] == "BadRequestError: query is invalid"
    assert len(answer["results"]["ok"]["sources"]) == 3


async def test_a_wrong_key_is_reported_per_task(tavily: FakeTavily):
    answer = json.loads(await web_search({"TAVILY_API_KEY": "tvly-wrong"}, [{"query": "q", "question": "?"}]))
    assert answer["results"]["q"]["error"].startswith("InvalidAPIKeyError")


@pytest.mark.parametrize(("tasks", "limit", "message"), [([], 3, "at least one task"), ([{"query": "q"}], 0, "limit")])
async def test_bad_arguments_are_clear_errors(tavily: FakeTavily, tasks, limit, message):
    with pytest.raises(BuiltinToolError, match=message):
        await web_search({"TAVILY_API_KEY": tavily.api_key}, tasks, limit=limit)
    assert tavily.requests == []
