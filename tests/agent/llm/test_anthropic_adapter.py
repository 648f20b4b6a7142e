"""The Anthropic adapter against a fake Messages API server, through the real `anthropic` SDK."""

import json
from collections.abc import AsyncIterator, Iterator

import pytest

from tests.fakes.anthropic_server import FakeAnthropic
from tests.fakes.replies import error, text, tool_call, tool_calls
from tests.support.server import free_port
from toolhub.agent.llm.anthropic_adapter import AnthropicClient
from toolhub.agent.llm.base import (
    LLMAuthenticationError,
    LLMBadResponseError,
    LLMDelta,
    LLMRateLimitError,
    LLMRequest,
    LLMUnreachableError,
    ToolCallRequest,
)

ADD = {
    "type": "function",
    "function": {"name": "add", "parameters": {"type": "object", "properties": {"a": {"type": "integer"}}}},
}
MESSAGES = (
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Add 1 and 2."},
)


@pytest.fixture(scope="module")
def server() -> Iterator[FakeAnthropic]:
    fake = FakeAnthropic().start()
    yield fake
    fake.stop()


@pytest.fixture
async def client(server: FakeAnthropic) -> AsyncIterator[AnthropicClient]:
    server.reset()
    adapter = AnthropicClient(api_key=server.api_key, base_url=server.url)
    yield adapter
    await adapter.aclose()


async def collect(stream: AsyncIterator[LLMDelta]) -> list[LLMDelta]:
    return [delta async for delta in stream]


async def test_complete_maps_blocks_usage_and_stop_reason(server: FakeAnthropic, client: AnthropicClient) -> None:
    server.script(tool_call("add", {"a": 1}, id="toolu_1", content="Adding."), text("3", reasoning="1+2=3"))
    first = await client.complete(LLMRequest(model="claude-fake-1", messages=MESSAGES, tools=(ADD,)))
    second = await client.complete(LLMRequest(model="claude-fake-1", messages=MESSAGES))
    assert first.content == "Adding." and first.finish_reason == "tool_calls"
    assert first.tool_calls == (ToolCallRequest(id="toolu_1", name="add", arguments='{"a": 1}'),)
    assert first.request_id == "msg_fake1" and first.model == "claude-fake-1"
    assert first.usage.prompt_tokens > 0
    assert first.usage.total_tokens == first.usage.prompt_tokens + first.usage.completion_tokens
    assert (second.content, second.reasoning, second.finish_reason) == ("3", "1+2=3", "stop")


async def test_request_is_sent_in_anthropic_shape(server: FakeAnthropic, client: AnthropicClient) -> None:
    await client.complete(
        LLMRequest(
            model="claude-fake-1",
            messages=MESSAGES,
            tools=(ADD,),
            tool_choice={"type": "function", "function": {"name": "add"}},
            parallel_tool_calls=False,
        )
    )
    [sent] = server.requests
    assert sent["system"] == "Be brief."
    assert sent["messages"] == [{"role": "user", "content": [{"type": "text", "text": "Add 1 and 2."}]}]
    assert sent["tool_choice"] == {"type": "tool", "name": "add", "disable_parallel_tool_use": True}
    assert sent["tools"][0]["name"] == "add" and "input_schema" in sent["tools"][0]
    assert sent["max_tokens"] > 0


async def test_stream_maps_events_to_deltas(server: FakeAnthropic, client: AnthropicClient) -> None:
    server.script(tool_calls(("add", {"a": 1}), ("add", {"a": 2})))
    deltas = await collect(client.stream(LLMRequest(model="claude-fake-1", messages=MESSAGES, tools=(ADD,))))
    heads = [d for d in deltas if d.tool_name]
    assert [(d.tool_call_index, d.tool_call_id) for d in heads] == [(0, "toolu_fake_1_0"), (1, "toolu_fake_1_1")]
    second = [d.arguments for d in deltas if d.tool_call_index == 1 and d.arguments]
    assert len(second) > 1 and json.loads("".join(second)) == {"a": 2}
    final = deltas[-1].final
    assert final is not None and final.finish_reason == "tool_calls"
    assert [json.loads(call.arguments) for call in final.tool_calls] == [{"a": 1}, {"a": 2}]
    assert final.usage.completion_tokens > 1 and final.usage.prompt_tokens > 0


async def test_stream_with_text_after_thinking(server: FakeAnthropic, client: AnthropicClient) -> None:
    server.script(text("The answer is three", reasoning="Adding one and two"))
    deltas = await collect(client.stream(LLMRequest(model="claude-fake-1", messages=MESSAGES)))
    assert "".join(d.reasoning for d in deltas if d.reasoning) == "Adding one and two"
    pieces = [d.content for d in deltas if d.content]
    assert len(pieces) > 1 and "".join(pieces) == "The answer is three"
    final = deltas[-1].final
    assert final is not None and final.tool_calls == () and final.finish_reason == "stop"
    assert (final.content, final.reasoning, final.request_id) == (
        "The answer is three",
        "Adding one and two",
        "msg_fake1",
    )


async def test_errors_are_mapped(server: FakeAnthropic, client: AnthropicClient) -> None:
    server.script(error(429, "rate limited"), error(529, "Overloaded"), error(400, "tools: bad schema"))
    with pytest.raises(LLMRateLimitError, match="rate limited"):
        await client.complete(LLMRequest(model="claude-fake-1", messages=MESSAGES))
    with pytest.raises(LLMRateLimitError, match="Overloaded"):
        await collect(client.stream(LLMRequest(model="claude-fake-1", messages=MESSAGES)))
    with pytest.raises(LLMBadResponseError, match="bad schema"):
        await client.complete(LLMRequest(model="claude-fake-1", messages=MESSAGES))
    assert len(server.requests) == 3, "the SDK must not retry on its own"


async def test_wrong_key_and_dead_endpoint(server: FakeAnthropic) -> None:
    wrong = AnthropicClient(api_key="sk-ant-wrong-secret", base_url=server.url)
    with pytest.raises(LLMAuthenticationError) as refused:
        await wrong.complete(LLMRequest(model="claude-fake-1", messages=MESSAGES))
    await wrong.aclose()
    dead = AnthropicClient(api_key="k", base_url=f"http://127.0.0.1:{free_port()}")
    with pytest.raises(LLMUnreachableError):
        await dead.complete(LLMRequest(model="claude-fake-1", messages=MESSAGES))
    await dead.aclose()
    assert "anthropic" in str(refused.value) and "sk-ant-wrong-secret" not in str(refused.value)


async def test_list_models(client: AnthropicClient) -> None:
    assert [model["id"] for model in await client.list_models(timeout=2)] == ["claude-fake-1", "claude-fake-2"]
