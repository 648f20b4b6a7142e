"""Calls that wait for the client: checking a request against what waits, and reading the client's answers."""

from datetime import datetime, timedelta, timezone

import pytest

from toolhub.agent.approvals import (
    Approved,
    Denied,
    PendingApproval,
    PendingApprovalError,
    PendingCall,
    Returned,
    answers_for,
    check_request,
    denied_text,
    request_view,
)
from toolhub.errors import InvalidInputError
from toolhub.server.schemas.messages import LettaRequest

NOW = datetime(2026, 12, 1, 12, 0, 0, 250000, tzinfo=timezone.utc)


def pending(*calls: PendingCall, expires_at: datetime | None = None) -> PendingApproval:
    return PendingApproval(
        message_id="message-00000000-0000-4000-8000-000000000001",
        run_id="run-1",
        step_id="step-1",
        requested_at=NOW,
        expires_at=expires_at,
        calls=list(calls),
    )


DEPLOY = PendingCall(id="call_1", name="deploy", arguments='{"target": "prod"}', kind="approval")
WHERE = PendingCall(id="call_2", name="where_am_i", arguments="{}", kind="client")
LATER = PendingCall(id="call_3", name="log", arguments="{}", kind="held")


def answers(*items: dict) -> list:
    return LettaRequest.model_validate({"messages": list(items)}).approval_answers()


def test_a_new_message_while_calls_wait_is_409_with_letta_body():
    with pytest.raises(PendingApprovalError) as raised:
        check_request(pending(DEPLOY), answering=False, now=NOW)
    assert raised.value.status_code == 409
    assert raised.value.detail == {
        "code": "PENDING_APPROVAL",
        "message": "CONFLICT: Cannot send a new message: The agent is waiting for approval on a tool call. Please "
        "approve or deny the pending request before continuing.",
        "pending_request_id": "message-00000000-0000-4000-8000-000000000001",
    }


def test_expired_requests_let_messages_through_and_answers_without_a_request_are_400():
    check_request(pending(DEPLOY, expires_at=NOW), answering=False, now=NOW + timedelta(seconds=1))
    check_request(None, answering=False, now=NOW)
    with pytest.raises(InvalidInputError, match="No tool call is waiting"):
        check_request(None, answering=True, now=NOW)


def test_answers_approve_deny_and_return_each_waiting_call():
    checked = answers_for(
        pending(DEPLOY, WHERE, LATER),
        answers({
            "type": "approval",
            "approvals": [
                {"type": "tool", "tool_call_id": "call_2", "tool_return": "Paris", "status": "success"},
                {"type": "approval", "tool_call_id": "call_1", "approve": False, "reason": "not today"},
            ],
        }),
    )
    assert checked.by_call == {"call_1": Denied("not today"), "call_2": Returned("Paris", "success")}
    assert checked.stored[1] == {"type": "approval", "tool_call_id": "call_1", "approve": False, "reason": "not today"}
    assert denied_text("not today") == "Error: request to call tool denied. User reason: not today"


def test_the_deprecated_single_form_answers_every_waiting_call():
    request_id = "message-00000000-0000-4000-8000-000000000001"
    checked = answers_for(pending(DEPLOY), answers({"approve": True, "approval_request_id": request_id}))
    assert checked.by_call == {"call_1": Approved()}
    with pytest.raises(InvalidInputError, match="Invalid approval request ID"):
        answers_for(pending(DEPLOY), answers({"approve": True, "approval_request_id": "message-other"}))


def test_tool_return_messages_answer_client_calls():
    checked = answers_for(
        pending(WHERE),
        answers({"type": "tool_return", "tool_returns": [
            {"tool_call_id": "call_2", "tool_return": [{"type": "text", "text": "Par"}, {"type": "text", "text": "is"}],
             "status": "error", "stderr": ["no gps"]},
        ]}),
    )
    assert checked.by_call == {"call_2": Returned("Paris", "error", (), ("no gps",))}


@pytest.mark.parametrize(
    "approvals",
    [
        [{"type": "approval", "tool_call_id": "call_wrong", "approve": True}],
        [],
        [{"type": "approval", "tool_call_id": "call_1", "approve": True}] * 2,
    ],
)
def test_answers_must_name_exactly_the_waiting_calls(approvals):
    with pytest.raises(InvalidInputError) as raised:
        answers_for(pending(DEPLOY, LATER), answers({"type": "approval", "approvals": approvals}))
    received = [item["tool_call_id"] for item in approvals]
    assert raised.value.detail == f"Invalid tool call IDs. Expected '['call_1']', but received '{received}'."


def test_a_client_call_cannot_be_approved_only_answered():
    with pytest.raises(InvalidInputError, match="client-side tool"):
        answers_for(pending(WHERE), answers({"approvals": [{"tool_call_id": "call_2", "approve": True}]}))


def test_the_request_view_shows_the_waiting_calls_with_otid_equal_to_id():
    view = request_view(pending(DEPLOY, LATER))
    assert view.message_type == "approval_request_message" and view.otid == view.id
    assert [call.tool_call_id for call in view.tool_calls] == ["call_1"] and view.tool_call.name == "deploy"
    assert view.date == NOW.replace(microsecond=0)
