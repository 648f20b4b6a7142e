"""The fake LLM speaks OpenAI's chat-completions protocol as the real `openai` SDK reads it."""

import json

import openai
import pytest

from tests.fakes.llm_server import FakeLLM, error, text, tool_call, tool_calls

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather in a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}
SEND = {
    "type": "function",
    "function": {"name": "send_message", "parameters": {"type": "object", "properties": {}}},
}
USER = [{"role": "user", "content": "hello"}]


@pytest.fixture
def sdk(llm: FakeLLM) -> openai.OpenAI:
    return openai.OpenAI(base_url=llm.url, api_key=llm.api_key, max_retries=0)


def test_plain_answer_is_a_chat_completion(llm: FakeLLM, sdk: openai.OpenAI) -> None:
    llm.script(text("Hi there"))
    done = sdk.chat.completions.create(model="fake-model", messages=USER)
    assert done.id.startswith("chatcmpl-")
    assert done.model == "fake-model"
    assert done.choices[0].message.content == "Hi there"
    assert done.choices[0].finish_reason == "stop"
    assert done.usage is not None
    assert done.usage.total_tokens == done.usage.prompt_tokens + done.usage.completion_tokens


def test_prompt_tokens_depend_only_on_the_request(llm: FakeLLM, sdk: openai.OpenAI) -> None:
    first = sdk.chat.completions.create(model="fake-model", messages=USER)
    again = sdk.chat.completions.create(model="fake-model", messages=USER)
    longer = sdk.chat.completions.create(model="fake-model", messages=[{"role": "user", "content": "hello" * 50}])
    assert first.usage and again.usage and longer.usage
    assert first.usage.prompt_tokens == again.usage.prompt_tokens < longer.usage.prompt_tokens


def test_tool_call_with_content(llm: FakeLLM, sdk: openai.OpenAI) -> None:
    llm.script(tool_call("get_weather", {"city": "Paris"}, id="call_1", content="Let me look."))
    done = sdk.chat.completions.create(model="fake-model", messages=USER, tools=[WEATHER])
    message = done.choices[0].message
    assert done.choices[0].finish_reason == "tool_calls"
    assert message.content == "Let me look."
    assert message.tool_calls is not None
    [call] = message.tool_calls
    assert (call.id, call.function.name, json.loads(call.function.arguments)) == (
        "call_1",
        "get_weather",
        {"city": "Paris"},
    )


def test_parallel_tool_calls_get_distinct_ids(llm: FakeLLM, sdk: openai.OpenAI) -> None:
    llm.script(tool_calls(("get_weather", {"city": "Paris"}), ("get_weather", '{"city": "Oslo"}')))
    done = sdk.chat.completions.create(model="fake-model", messages=USER, tools=[WEATHER])
    calls = done.choices[0].message.tool_calls or []
    assert [json.loads(c.function.arguments)["city"] for c in calls] == ["Paris", "Oslo"]
    assert len({c.id for c in calls}) == 2


def test_streamed_text_joins_to_the_answer_and_ends_with_usage(llm: FakeLLM, sdk: openai.OpenAI) -> None:
    llm.script(text("The quick brown fox jumps"))
    chunks = list(
        sdk.chat.completions.create(
            model="fake-model", messages=USER, stream=True, stream_options={"include_usage": True}
        )
    )
    pieces = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    assert len(pieces) > 1 and "".join(pieces) == "The quick brown fox jumps"
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["stop"]
    assert chunks[-1].choices == [] and chunks[-1].usage is not None and chunks[-1].usage.total_tokens > 0


def test_streamed_parallel_tool_calls_arrive_in_fragments(llm: FakeLLM, sdk: openai.OpenAI) -> None:
    llm.script(tool_calls(("get_weather", {"city": "Paris"}), ("send_message", {"message": "done"})))
    stream = sdk.chat.completions.create(model="fake-model", messages=USER, tools=[WEATHER, SEND], stream=True)
    heads: dict[int, tuple[str, str]] = {}
    arguments: dict[int, list[str]] = {}
    usage_seen = False
    for chunk in stream:
        usage_seen = usage_seen or chunk.usage is not None
        for delta in (chunk.choices[0].delta.tool_calls or []) if chunk.choices else []:
            if delta.id:
                assert delta.function and delta.function.name
                heads[delta.index] = (delta.id, delta.function.name)
            if delta.function and delta.function.arguments:
                arguments.setdefault(delta.index, []).append(delta.function.arguments)
    assert [name for _, name in heads.values()] == ["get_weather", "send_message"]
    assert all(len(parts) > 1 for parts in arguments.values())
    assert json.loads("".join(arguments[1])) == {"message": "done"}
    assert not usage_seen, "usage is only sent when stream_options.include_usage asks for it"


def test_reasoning_content_is_returned(llm: FakeLLM, sdk: openai.OpenAI) -> None:
    llm.script(text("42", reasoning="Six times seven."))
    done = sdk.chat.completions.create(model="fake-model", messages=USER)
    assert done.choices[0].message.model_dump()["reasoning_content"] == "Six times seven."


def test_default_answers_when_nothing_is_scripted(llm: FakeLLM, sdk: openai.OpenAI) -> None:
    plain = sdk.chat.completions.create(model="fake-model", messages=USER, tools=[WEATHER, SEND])
    required = sdk.chat.completions.create(
        model="fake-model", messages=USER, tools=[WEATHER, SEND], tool_choice="required"
    )
    forced = sdk.chat.completions.create(
        model="fake-model",
        messages=USER,
        tools=[WEATHER, SEND],
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
    )
    first_tool = sdk.chat.completions.create(model="fake-model", messages=USER, tools=[WEATHER], tool_choice="required")
    assert plain.choices[0].message.content == "OK" and not plain.choices[0].message.tool_calls
    [send] = required.choices[0].message.tool_calls or []
    assert (send.function.name, json.loads(send.function.arguments)) == ("send_message", {"message": "OK"})
    [weather] = forced.choices[0].message.tool_calls or []
    assert (weather.function.name, weather.function.arguments) == ("get_weather", "{}")
    assert [c.function.name for c in first_tool.choices[0].message.tool_calls or []] == ["get_weather"]


def test_wrong_key_is_refused_like_openai(llm: FakeLLM) -> None:
    wrong = openai.OpenAI(base_url=llm.url, api_key="sk-wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as refused:
        wrong.chat.completions.create(model="fake-model", messages=USER)
    assert refused.value.status_code == 401
    assert refused.value.code == "invalid_api_key"
    assert llm.requests == [], "a refused request consumes no reply and is not recorded"


def test_scripted_errors_use_openai_error_bodies(llm: FakeLLM, sdk: openai.OpenAI) -> None:
    llm.script(error(429, "Slow down"), error(500, "Boom"), text("after"))
    with pytest.raises(openai.RateLimitError, match="Slow down"):
        sdk.chat.completions.create(model="fake-model", messages=USER)
    with pytest.raises(openai.InternalServerError) as failed:
        sdk.chat.completions.create(model="fake-model", messages=USER, stream=True)
    assert failed.value.status_code == 500 and "Boom" in failed.value.message
    assert sdk.chat.completions.create(model="fake-model", messages=USER).choices[0].message.content == "after"


def test_requests_are_recorded_in_order_and_reset_clears_them(llm: FakeLLM, sdk: openai.OpenAI) -> None:
    llm.script(text("one"), text("two"))
    sdk.chat.completions.create(model="fake-model", messages=USER, tools=[WEATHER], parallel_tool_calls=False)
    sdk.chat.completions.create(model="other-model", messages=[{"role": "user", "content": "second"}])
    assert [r["model"] for r in llm.requests] == ["fake-model", "other-model"]
    assert llm.requests[0]["tools"] == [WEATHER] and llm.requests[0]["parallel_tool_calls"] is False
    assert llm.requests[1]["messages"][0]["content"] == "second"
    llm.script(text("left over"))
    llm.reset()
    assert llm.requests == []
    assert sdk.chat.completions.create(model="fake-model", messages=USER).choices[0].message.content == "OK"


def test_models_are_listed(llm: FakeLLM, sdk: openai.OpenAI) -> None:
    assert [model.id for model in sdk.models.list()] == ["fake-model", "fake-embedding"]
