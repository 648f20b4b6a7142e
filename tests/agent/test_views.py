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


def test_calls_put_to_the_client_are_an_approval_request_and_the_answers_a_response():
    calls = [{"id": "c1", "name": "lookup", "arguments": "{}"}, {"id": "c2", "name": "deploy", "arguments": "{}"}]
    answer = row(role="assistant", tool_calls=calls, requested_approval=["c2"], step_id="step-1")
    response = Message(
        id="message-00000000-0000-4000-8000-0000000000ac", agent_id="agent-x", created_at=NOW, role="approval",
        approval_request_id=answer.id,
        approvals=[{"type": "approval", "tool_call_id": "c2", "approve": False, "reason": "no"}],
    )
    call, request, answered = letta_messages([answer, response])
    assert (call.message_type, [c.tool_call_id for c in call.tool_calls]) == ("tool_call_message", ["c1"])
    assert request.message_type == "approval_request_message" and request.otid == request.id == answer.id
    assert request.tool_call.name == "deploy" and [c.tool_call_id for c in request.tool_calls] == ["c2"]
    assert answered.message_type == "approval_response_message"
    assert (answered.approve, answered.reason, answered.approval_request_id) == (False, "no", answer.id)
    assert answered.approvals[0].tool_call_id == "c2"


def test_the_returns_of_one_step_are_one_message_in_call_order():
    def returned(call_id: str, text: str, step_id: str) -> Message:
        item = {"tool_call_id": call_id, "status": "success", "tool_return": text}
        return Message(id=f"message-{call_id}", agent_id="agent-x", created_at=NOW, role="tool", name="add",
                       tool_call_id=call_id, tool_returns=[item], step_id=step_id)

    first, second, other = returned("c1", "3", "step-1"), returned("c2", "7", "step-1"), returned("c3", "9", "step-2")
    merged, alone = letta_messages([first, second, other])
    assert merged.id == first.id and merged.tool_return == "3"
    assert [(r.tool_call_id, r.tool_return) for r in merged.tool_returns] == [("c1", "3"), ("c2", "7")]
    assert [r.tool_call_id for r in alone.tool_returns] == ["c3"]
