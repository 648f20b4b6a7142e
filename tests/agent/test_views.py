"""Stored rows as Letta's message types: one row, several API messages with one id."""

import json
from datetime import datetime, timezone

from toolhub.agent.views import ViewOptions, letta_messages, otid
from toolhub.store.models import Message

NOW = datetime(2026, 12, 1, 12, 0, 0, 123456, tzinfo=timezone.utc)


def row(**fields) -> Message:
    return Message(id="message-00000000-0000-4000-8000-0000000000ab", agent_id="agent-x", created_at=NOW, **fields)


def test_a_send_message_call_is_an_assistant_message_after_its_reasoning_and_its_return_is_hidden():
    arguments = json.dumps({"inner_thoughts": "greet", "message": "Hello!"})
    answer = row(
        role="assistant", reasoning="greet", tool_calls=[{"id": "c1", "name": "send_message", "arguments": arguments}]
    )
    hidden = row(
        role="tool",
        name="send_message",
        tool_call_id="c1",
        tool_returns=[{"tool_call_id": "c1", "status": "success", "tool_return": "Sent message successfully."}],
    )
    reasoning, assistant = letta_messages([answer, hidden])
    assert (reasoning.message_type, reasoning.reasoning) == ("reasoning_message", "greet")
    assert (assistant.message_type, assistant.content) == ("assistant_message", "Hello!")
    assert reasoning.id == assistant.id and reasoning.otid != assistant.otid
    assert assistant.otid == otid(answer.id, 1) and assistant.date == NOW.replace(microsecond=0)


def test_without_assistant_messages_the_call_and_return_show_with_thoughts_hidden_from_the_arguments():
    arguments = json.dumps({"inner_thoughts": "add them", "a": 1, "b": 2, "request_heartbeat": True})
    answer = row(
        role="assistant", reasoning="add them", tool_calls=[{"id": "c1", "name": "add", "arguments": arguments}]
    )
    ret = row(
        role="tool",
        name="add",
        tool_call_id="c1",
        tool_returns=[{"tool_call_id": "c1", "status": "success", "tool_return": "3", "stdout": ["x\n"], "stderr": []}],
    )
    views = letta_messages([answer, ret], ViewOptions(use_assistant_message=False))
    call = views[1]
    assert call.message_type == "tool_call_message"
    assert json.loads(call.tool_call.arguments) == {"a": 1, "b": 2, "request_heartbeat": True}
    assert call.tool_calls == [call.tool_call]
    returned = views[2]
    assert (returned.tool_return, returned.status, returned.stdout, returned.name) == ("3", "success", ["x\n"], "add")
    assert returned.tool_returns[0].tool_call_id == "c1"


def test_include_types_filters():
    rows = [row(role="user", content="hi"), row(role="assistant", content="hello")]
    (only,) = letta_messages(rows, ViewOptions(include_types=frozenset({"assistant_message"})))
    assert only.content == "hello"
