"""Calls that wait for the client: tools that need approval and client-side tools.

When the model calls one, the turn stops (`requires_approval`) and the agent keeps a `PendingApproval`: the calls
of that step still to be done, in call order, and what the rules had seen so far. The client answers each waiting
call (approve, deny with a reason, or a tool return of its own); the next request with those answers resumes the
step where it stopped, also on a server restarted meanwhile, since all of it is stored. Until then a new user
message is refused (409, Letta's body). A pending approval may expire; the calls then never run.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from toolhub.errors import ConflictError, InvalidInputError
from toolhub.server.schemas.messages import (
    ApprovalCreate,
    ApprovalRequestMessage,
    ApprovalReturn,
    ToolCall,
    ToolReturnCreate,
    ToolReturnInput,
)
from toolhub.tools.rules import CallRecord

PENDING_MESSAGE = (
    "CONFLICT: Cannot send a new message: The agent is waiting for approval on a tool call. Please approve or deny "
    "the pending request before continuing."
)
DENIED = "Error: request to call tool denied. User reason: {reason}"
DENIED_REASON = "Continuing: user denied request to call tool."
EXPIRED = "Error: the request to call {name} expired: no answer came within {seconds:g} seconds, so it did not run."

CallKind = Literal["approval", "client", "held"]
"""Why a call waits: it needs approval, it is a client-side tool, or it comes after such a call in the same answer
(it runs when the client has answered, so the calls of a step keep their order)."""


class PendingCall(BaseModel):
    id: str
    name: str
    arguments: str
    kind: CallKind


class PendingApproval(BaseModel):
    """What an agent waits for, stored on the agent (`agents.pending_approval`)."""

    message_id: str
    """The stored model answer whose calls wait: the `approval_request_message` id."""
    run_id: str | None
    step_id: str
    requested_at: datetime
    expires_at: datetime | None = None
    calls: list[PendingCall]
    history: list[tuple[str, str | None, str | None]] = Field(default_factory=list)
    """The rules' history of the stopped request: (tool, output, call id); a waiting call's output is None."""
    client_tools: list[dict[str, Any]] = Field(default_factory=list)
    """The client tools of the stopped request, offered again when the answer does not send them."""

    @property
    def waiting(self) -> list[PendingCall]:
        """The calls the client must answer."""
        return [call for call in self.calls if call.kind != "held"]

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and now >= self.expires_at

    def records(self) -> list[CallRecord]:
        return [CallRecord(name, output) for name, output, _ in self.history]

    def timeout_seconds(self) -> float:
        return (self.expires_at - self.requested_at).total_seconds() if self.expires_at else 0.0


@dataclass(frozen=True)
class Approved:
    pass


@dataclass(frozen=True)
class Denied:
    reason: str | None


@dataclass(frozen=True)
class Returned:
    """The client's own result for the call."""

    text: str
    status: Literal["success", "error"]
    stdout: Sequence[str] = ()
    stderr: Sequence[str] = ()


Answer = Approved | Denied | Returned


@dataclass(frozen=True)
class Answers:
    """The client's answers, checked against what waits."""

    by_call: Mapping[str, Answer]
    stored: list[dict[str, Any]]
    """The answers as the `approval_response_message` shows them."""


class PendingApprovalError(ConflictError):
    """A new message while calls wait for approval (409, with Letta's body naming the pending request)."""

    code = "pending_approval"

    def __init__(self, pending: PendingApproval) -> None:
        super().__init__(
            {"code": "PENDING_APPROVAL", "message": PENDING_MESSAGE, "pending_request_id": pending.message_id}
        )


def check_request(pending: PendingApproval | None, *, answering: bool, now: datetime) -> None:
    """Whether a request may start now.

    Raises:
        PendingApprovalError: new messages while calls wait (and have not expired).
        InvalidInputError: answers while nothing waits.
    """
    if answering and pending is None:
        raise InvalidInputError("No tool call is waiting for approval")
    if not answering and pending is not None and not pending.expired(now):
        raise PendingApprovalError(pending)


def answers_for(pending: PendingApproval, items: Sequence[ApprovalCreate | ToolReturnCreate]) -> Answers:
    """The answers of a request to the calls of `pending`: one for each waiting call, none for another.

    Raises:
        InvalidInputError: answers for other calls or missing ones (Letta's text), an approval for another request,
            an approval of a client-side call (only its result can answer it).
    """
    expected = [call.id for call in pending.waiting]
    given: list[ApprovalReturn | ToolReturnInput] = []
    for item in items:
        if isinstance(item, ToolReturnCreate):
            given += item.tool_returns
            continue
        if item.approval_request_id is not None and item.approval_request_id != pending.message_id:
            raise InvalidInputError(
                f"Invalid approval request ID. Expected '{pending.message_id}', but received "
                f"'{item.approval_request_id}'."
            )
        if item.approvals:
            given += item.approvals
        elif item.approve is not None:
            given += [
                ApprovalReturn(tool_call_id=call_id, approve=item.approve, reason=item.reason) for call_id in expected
            ]
    received = [answer.tool_call_id for answer in given]
    if sorted(received) != sorted(expected):
        raise InvalidInputError(f"Invalid tool call IDs. Expected '{expected}', but received '{received}'.")
    kinds = {call.id: call.kind for call in pending.calls}
    by_call: dict[str, Answer] = {}
    for answer in given:
        if isinstance(answer, ToolReturnInput):
            by_call[answer.tool_call_id] = Returned(
                answer.text, answer.status, tuple(answer.stdout or ()), tuple(answer.stderr or ())
            )
        elif not answer.approve:
            by_call[answer.tool_call_id] = Denied(answer.reason)
        elif kinds[answer.tool_call_id] == "client":
            raise InvalidInputError(
                f"Tool call {answer.tool_call_id} is a client-side tool: answer it with its tool return"
            )
        else:
            by_call[answer.tool_call_id] = Approved()
    return Answers(by_call=by_call, stored=[_stored(answer) for answer in given])


def denied_text(reason: str | None) -> str:
    return DENIED.format(reason=reason)


def request_view(pending: PendingApproval) -> ApprovalRequestMessage:
    """The pending request as `AgentState.pending_approval` shows it."""
    calls = [ToolCall(name=call.name, arguments=call.arguments, tool_call_id=call.id) for call in pending.waiting]
    return ApprovalRequestMessage(
        id=pending.message_id,
        otid=pending.message_id,
        date=pending.requested_at.replace(microsecond=0),
        step_id=pending.step_id,
        run_id=pending.run_id,
        tool_call=calls[0],
        tool_calls=calls,
    )


def _stored(answer: ApprovalReturn | ToolReturnInput) -> dict[str, Any]:
    if isinstance(answer, ApprovalReturn):
        return answer.model_dump()
    return {
        "type": "tool",
        "tool_return": answer.text,
        "status": answer.status,
        "tool_call_id": answer.tool_call_id,
        "stdout": answer.stdout,
        "stderr": answer.stderr,
    }
