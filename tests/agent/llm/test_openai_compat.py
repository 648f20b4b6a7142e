"""The OpenAI-compatible adapter against the fake chat-completions server, through the real `openai` SDK."""

import json
from collections.abc import AsyncIterator

import pytest

from tests.fakes.llm_server import FakeLLM, error, text, tool_call, tool_calls
from tests.support.server import free_port
from toolhub.agent.llm.base import (
    LLMAuthenticationError,
    LLMBadResponseError,
    LLMDelta,
    LLMRateLimitError,
    LLMRequest,
    LLMUnreachableError,
    ToolCallRequest,
)
from toolhub.agent.llm.openai_compat import OpenAICompatClient

WEATHER = {
    "type": "function",
    "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}},
}
USER = ({"role": "user", "content": "What is the weather?"},)


@pytest.fixture
async def client(llm: FakeLLM) -> AsyncIterator[OpenAICompatClient]:
    adapter = OpenAICompatClient(provider="openai", base_url=llm.url, api_key=llm.api_key)
    yield adapter
    await adapter.aclose()


async def collect(stream: AsyncIterator[LLMDelta]) -> list[LLMDelta]:
    return [delta async for delta in stream]


async def test_complete_maps_text_and_usage(llm: FakeLLM, client: OpenAICompatClient) -> None:
    llm.script(text("Sunny", reasoning="Looked outside."))
    answer = await client.complete(LLMRequest(model="fake-model", messages=USER))
    assert (answer.content, answer.reasoning, answer.tool_calls) == ("Sunny", "Looked outside.", ())
    assert answer.request_id and answer.request_id.startswith("chatcmpl-")
    assert answer.model == "fake-model" and answer.finish_reason == "stop"
    assert answer.usage.prompt_tokens > 0
    assert answer.usage.total_tokens == answer.usage.prompt_tokens + answer.usage.completion_tokens


async def test_complete_maps_parallel_tool_calls(llm: FakeLLM, client: OpenAICompatClient) -> None:
    llm.script(tool_calls(("get_weather", {"city": "Paris"}), ("get_weather", {"city": "Oslo"})))
    answer = await client.complete(LLMRequest(model="fake-model", messages=USER, tools=(WEATHER,)))
    assert [json.loads(call.arguments) for call in answer.tool_calls] == [{"city": "Paris"}, {"city": "Oslo"}]
    assert all(call.name == "get_weather" and call.id for call in answer.tool_calls)
    assert answer.finish_reason == "tool_calls"


async def test_request_parameters_are_sent_only_when_they_apply(llm: FakeLLM, client: OpenAICompatClient) -> None:
    forced = {"type": "function", "function": {"name": "get_weather"}}
    await client.complete(
        LLMRequest(
            model="fake-model",
            messages=USER,
            tools=(WEATHER,),
            tool_choice=forced,
            parallel_tool_calls=False,
            temperature=0.2,
            max_tokens=64,
        )
    )
    await client.complete(
        LLMRequest(model="fake-model", messages=USER, tool_choice="required", parallel_tool_calls=True)
    )
    with_tools, without_tools = llm.requests
    assert with_tools["tool_choice"] == forced and with_tools["parallel_tool_calls"] is False
    assert (with_tools["temperature"], with_tools["max_tokens"]) == (0.2, 64)
    assert with_tools["messages"] == list(USER)
    assert not {"tools", "tool_choice", "parallel_tool_calls", "temperature", "max_tokens"} & set(without_tools)


async def test_openai_itself_gets_max_completion_tokens(llm: FakeLLM) -> None:
    adapter = OpenAICompatClient(
        provider="openai", base_url=llm.url, api_key=llm.api_key, max_tokens_param="max_completion_tokens"
    )
    await adapter.complete(LLMRequest(model="fake-model", messages=USER, max_tokens=10))
    await adapter.aclose()
    assert llm.requests[0]["max_completion_tokens"] == 10 and "max_tokens" not in llm.requests[0]


async def test_stream_yields_pieces_then_the_whole_answer(llm: FakeLLM, client: OpenAICompatClient) -> None:
    llm.script(tool_call("get_weather", {"city": "Paris"}, id="call_w", content="Checking the weather now"))
    deltas = await collect(client.stream(LLMRequest(model="fake-model", messages=USER, tools=(WEATHER,))))
    *pieces, last = deltas
    assert all(delta.final is None for delta in pieces)
    text_pieces = [d.content for d in pieces if d.content]
    assert len(text_pieces) > 1 and "".join(text_pieces) == "Checking the weather now"
    call_pieces = [d for d in pieces if d.tool_call_index is not None]
    head, *rest = call_pieces
    assert (head.tool_call_index, head.tool_call_id, head.tool_name) == (0, "call_w", "get_weather")
    assert rest and all(d.tool_call_id is None and d.tool_name is None for d in rest)
    assert json.loads("".join(d.arguments or "" for d in call_pieces)) == {"city": "Paris"}
    final = last.final
    assert final is not None
    assert final.content == "Checking the weather now"
    assert final.tool_calls == (ToolCallRequest(id="call_w", name="get_weather", arguments='{"city": "Paris"}'),)
    assert final.finish_reason == "tool_calls" and final.usage.total_tokens > 0
    assert llm.requests[0]["stream_options"] == {"include_usage": True}


async def test_stream_of_parallel_calls_keeps_them_apart(llm: FakeLLM, client: OpenAICompatClient) -> None:
    llm.script(tool_calls(("get_weather", {"city": "Paris"}), ("get_weather", {"city": "Oslo"})))
    deltas = await collect(client.stream(LLMRequest(model="fake-model", messages=USER, tools=(WEATHER,))))
    heads = [d for d in deltas if d.tool_name]
    assert [d.tool_call_index for d in heads] == [0, 1]
    final = deltas[-1].final
    assert final is not None
    assert [json.loads(call.arguments)["city"] for call in final.tool_calls] == ["Paris", "Oslo"]


async def test_stream_reasoning_is_reported_apart(llm: FakeLLM, client: OpenAICompatClient) -> None:
    llm.script(text("42", reasoning="Six times seven is forty-two."))
    deltas = await collect(client.stream(LLMRequest(model="fake-model", messages=USER)))
    assert "".join(d.reasoning for d in deltas if d.reasoning) == "Six times seven is forty-two."
    final = deltas[-1].final
    assert final is not None and (final.content, final.reasoning) == ("42", "Six times seven is forty-two.")


async def test_wrong_key_is_an_authentication_error_without_the_key(llm: FakeLLM) -> None:
    adapter = OpenAICompatClient(provider="openai", base_url=llm.url, api_key="sk-wrong-secret-123")
    with pytest.raises(LLMAuthenticationError) as refused:
        await adapter.complete(LLMRequest(model="fake-model", messages=USER))
    with pytest.raises(LLMAuthenticationError):
        await collect(adapter.stream(LLMRequest(model="fake-model", messages=USER)))
    await adapter.aclose()
    assert "openai" in str(refused.value) and "401" in str(refused.value)
    assert "sk-wrong-secret-123" not in str(refused.value)
    assert refused.value.code == "llm_authentication"


async def test_dead_endpoint_is_unreachable_and_fails_fast() -> None:
    adapter = OpenAICompatClient(provider="vllm", base_url=f"http://127.0.0.1:{free_port()}/v1", api_key="none")
    with pytest.raises(LLMUnreachableError) as dead:
        await adapter.complete(LLMRequest(model="m", messages=USER))
    await adapter.aclose()
    assert dead.value.retryable and "vllm" in str(dead.value) and "127.0.0.1" in str(dead.value)


async def test_provider_errors_are_mapped(llm: FakeLLM, client: OpenAICompatClient) -> None:
    llm.script(error(429, "Too many requests"), error(503, "Overloaded"), error(400, "Bad tool schema"))
    with pytest.raises(LLMRateLimitError, match="Too many requests") as limited:
        await client.complete(LLMRequest(model="fake-model", messages=USER))
    with pytest.raises(LLMBadResponseError, match="503") as unavailable:
        await collect(client.stream(LLMRequest(model="fake-model", messages=USER)))
    with pytest.raises(LLMBadResponseError, match="Bad tool schema") as rejected:
        await client.complete(LLMRequest(model="fake-model", messages=USER))
    assert limited.value.retryable and unavailable.value.retryable and not rejected.value.retryable
    assert len(llm.requests) == 3, "the SDK must not retry on its own"


async def test_list_models(llm: FakeLLM, client: OpenAICompatClient) -> None:
    assert [model["id"] for model in await client.list_models(timeout=2)] == ["fake-model", "fake-embedding"]
