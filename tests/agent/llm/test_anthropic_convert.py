"""OpenAI-shaped requests become valid Anthropic Messages API parameters."""

import pytest

from toolhub.agent.llm.anthropic_convert import (
    CONVERSATION_START,
    DEFAULT_MAX_TOKENS,
    convert_messages,
    convert_tool_choice,
    request_params,
)
from toolhub.agent.llm.base import LLMRequest

CALL = {"id": "call_1", "type": "function", "function": {"name": "add", "arguments": '{"a": 1, "b": 2}'}}
CALL_2 = {"id": "call_2", "type": "function", "function": {"name": "add", "arguments": '{"a": 3, "b": 4}'}}


def test_system_prompt_is_separate_and_tool_results_follow_in_one_user_turn() -> None:
    system, turns = convert_messages(
        [
            {"role": "system", "content": "You are helpful."},
            {"role": "user", "content": "Add things."},
            {"role": "assistant", "content": "Adding.", "tool_calls": [CALL, CALL_2]},
            {"role": "tool", "tool_call_id": "call_1", "content": "3"},
            {"role": "tool", "tool_call_id": "call_2", "content": "7"},
            {"role": "user", "content": "Thanks"},
        ]
    )
    assert system == "You are helpful."
    assert [turn["role"] for turn in turns] == ["user", "assistant", "user"]
    assert turns[1]["content"] == [
        {"type": "text", "text": "Adding."},
        {"type": "tool_use", "id": "call_1", "name": "add", "input": {"a": 1, "b": 2}},
        {"type": "tool_use", "id": "call_2", "name": "add", "input": {"a": 3, "b": 4}},
    ]
    assert turns[2]["content"] == [
        {"type": "tool_result", "tool_use_id": "call_1", "content": "3"},
        {"type": "tool_result", "tool_use_id": "call_2", "content": "7"},
        {"type": "text", "text": "Thanks"},
    ]


def test_history_opening_with_the_assistant_gets_a_user_turn_first() -> None:
    _, turns = convert_messages(
        [{"role": "system", "content": "S"}, {"role": "assistant", "content": None, "tool_calls": [CALL]}]
    )
    assert turns[0] == {"role": "user", "content": [{"type": "text", "text": CONVERSATION_START}]}
    assert turns[1]["role"] == "assistant"


def test_empty_text_is_dropped_and_consecutive_turns_merge() -> None:
    _, turns = convert_messages(
        [
            {"role": "user", "content": "one"},
            {"role": "user", "content": [{"type": "text", "text": "two"}, {"type": "text", "text": ""}]},
            {"role": "assistant", "content": ""},
            {"role": "assistant", "content": "three"},
        ]
    )
    assert turns == [
        {"role": "user", "content": [{"type": "text", "text": "one"}, {"type": "text", "text": "two"}]},
        {"role": "assistant", "content": [{"type": "text", "text": "three"}]},
    ]


def test_later_system_messages_stay_in_place_as_user_text() -> None:
    system, turns = convert_messages(
        [
            {"role": "system", "content": "Base"},
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": "hello"},
            {"role": "system", "content": "Summary so far"},
        ]
    )
    assert system == "Base"
    assert turns[-1] == {"role": "user", "content": [{"type": "text", "text": "Summary so far"}]}


def test_images_and_malformed_arguments_are_kept() -> None:
    bad = {"id": "c", "type": "function", "function": {"name": "f", "arguments": "{not json"}}
    _, turns = convert_messages(
        [
            {
                "role": "user",
                "content": [
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
                    {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
                ],
            },
            {"role": "assistant", "tool_calls": [bad]},
        ]
    )
    assert turns[0]["content"] == [
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"}},
        {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.png"}},
    ]
    assert turns[1]["content"][0]["input"] == {"arguments": "{not json"}


def test_unknown_roles_are_a_bug_not_silence() -> None:
    with pytest.raises(ValueError, match="'function'"):
        convert_messages([{"role": "function", "content": "x"}])


@pytest.mark.parametrize(
    ("choice", "parallel", "expected"),
    [
        (None, None, None),
        (None, True, None),
        (None, False, {"type": "auto", "disable_parallel_tool_use": True}),
        ("auto", None, {"type": "auto"}),
        ("required", None, {"type": "any"}),
        ("required", False, {"type": "any", "disable_parallel_tool_use": True}),
        ("none", False, {"type": "none"}),
        ({"type": "function", "function": {"name": "add"}}, None, {"type": "tool", "name": "add"}),
    ],
)
def test_tool_choice(choice, parallel, expected) -> None:  # noqa: ANN001 - parametrized
    assert convert_tool_choice(choice, parallel) == expected


def test_request_params_convert_tools_and_defaults() -> None:
    tool = {
        "type": "function",
        "function": {
            "name": "add",
            "description": "Add two numbers.",
            "parameters": {"type": "object", "properties": {"a": {"type": "integer"}}},
            "strict": True,
        },
    }
    params = request_params(
        LLMRequest(
            model="claude-x",
            messages=[{"role": "user", "content": "hi"}],
            tools=[tool],
            tool_choice="required",
            temperature=0.5,
        )
    )
    assert params["max_tokens"] == DEFAULT_MAX_TOKENS and params["temperature"] == 0.5
    assert params["tools"] == [
        {
            "name": "add",
            "description": "Add two numbers.",
            "input_schema": {"type": "object", "properties": {"a": {"type": "integer"}}},
        }
    ]
    assert params["tool_choice"] == {"type": "any"}
    assert "system" not in params
    without_tools = request_params(LLMRequest(model="m", messages=[], tool_choice="required", max_tokens=9))
    assert "tool_choice" not in without_tools and without_tools["max_tokens"] == 9
