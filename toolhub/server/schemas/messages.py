"""Letta's message wire shapes: what a message request takes (`LettaRequest`: messages, or the client's answers to
calls waiting for it, and client-side tools) and what it answers (`LettaResponse`, the `LettaMessage` types
including approval requests and responses, stop reasons, usage), for both SDK generations.

One stored message can surface as several API messages sharing its `id` (reasoning, then a tool call or an
assistant message), each with its own `otid`; `toolhub.agent.views` makes them from stored rows.
"""

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, field_validator

from toolhub.errors import InvalidInputError

DEFAULT_MAX_STEPS = 50
MAX_STEPS_LIMIT = 1000


class TextContent(BaseModel):
    type: Literal["text"] = "text"
    text: str


class MessageCreate(BaseModel):
    """One input message. Unknown fields are ignored, as Letta's."""

    model_config = ConfigDict(extra="ignore")

    type: Literal["message"] | None = None
    role: Literal["user", "system", "assistant"] = "user"
    content: str | list[TextContent]
    name: str | None = None
    otid: str | None = None
    sender_id: str | None = None

    @property
    def text(self) -> str:
        return self.content if isinstance(self.content, str) else "".join(part.text for part in self.content)


class ApprovalReturn(BaseModel):
    """A client's answer to one tool call put up for approval."""

    model_config = ConfigDict(extra="ignore")

    type: Literal["approval"] = "approval"
    tool_call_id: str
    approve: bool
    reason: str | None = None


class ToolReturnInput(BaseModel):
    """The result of a call the client ran itself (a client-side tool), or that it answers in the tool's place."""

    model_config = ConfigDict(extra="ignore")

    type: Literal["tool"] = "tool"
    tool_return: str | list[TextContent]
    status: Literal["success", "error"]
    tool_call_id: str
    stdout: list[str] | None = None
    stderr: list[str] | None = None

    @property
    def text(self) -> str:
        if isinstance(self.tool_return, str):
            return self.tool_return
        return "".join(part.text for part in self.tool_return)


def _approval_kind(value: Any) -> str:
    if isinstance(value, dict):
        return "tool" if value.get("type") == "tool" or "tool_return" in value else "approval"
    return "tool" if isinstance(value, ToolReturnInput) else "approval"


ApprovalItem = Annotated[
    Annotated[ApprovalReturn, Tag("approval")] | Annotated[ToolReturnInput, Tag("tool")],
    Discriminator(_approval_kind),
]


class ApprovalCreate(BaseModel):
    """`{"type": "approval", "approvals": [...]}`: the answers to the calls waiting for the client. The deprecated
    single form (`approve`, `approval_request_id`, `reason`) answers every waiting call alike."""

    model_config = ConfigDict(extra="ignore")

    type: Literal["approval"] = "approval"
    approvals: list[ApprovalItem] | None = None
    approve: bool | None = None
    approval_request_id: str | None = None
    reason: str | None = None
    otid: str | None = None


class ToolReturnCreate(BaseModel):
    """`{"type": "tool_return", "tool_returns": [...]}`: results of client-side calls (the same as an approval
    message holding tool returns)."""

    model_config = ConfigDict(extra="ignore")

    type: Literal["tool_return"] = "tool_return"
    tool_returns: list[ToolReturnInput]
    otid: str | None = None


def _input_kind(value: Any) -> str:
    kind = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    answers = isinstance(value, dict) and kind is None and ("approvals" in value or "approve" in value)
    if kind == "approval" or answers:
        return "approval"
    return "tool_return" if kind == "tool_return" else "message"


InputItem = Annotated[
    Annotated[MessageCreate, Tag("message")]
    | Annotated[ApprovalCreate, Tag("approval")]
    | Annotated[ToolReturnCreate, Tag("tool_return")],
    Discriminator(_input_kind),
]


class ClientTool(BaseModel):
    """A tool the client runs itself: offered to the model with the agent's tools, never run on the server."""

    model_config = ConfigDict(extra="ignore")

    name: str = Field(min_length=1, max_length=255)
    description: str | None = None
    parameters: dict[str, Any] | None = None


class LettaRequest(BaseModel):
    """The body of `POST /v1/agents/{id}/messages` (and of the streaming and async variants)."""

    model_config = ConfigDict(extra="ignore")

    messages: list[InputItem] | None = None
    input: str | list[TextContent] | None = Field(default=None, description="Shorthand for one user message (1.x).")
    max_steps: int = Field(default=DEFAULT_MAX_STEPS, ge=1, le=MAX_STEPS_LIMIT)
    use_assistant_message: bool = True
    assistant_message_tool_name: str = "send_message"
    assistant_message_tool_kwarg: str = "message"
    include_return_message_types: list[str] | None = None
    streaming: bool = Field(default=False, description="1.x clients: stream the answer as /messages/stream does.")
    stream_tokens: bool = False
    include_pings: bool = True
    client_tools: list[ClientTool] | None = Field(
        default=None, description="Tools the client runs: a call to one pauses the turn until the client returns."
    )

    @field_validator("max_steps", mode="before")
    @classmethod
    def _default_steps(cls, value: Any) -> Any:
        return DEFAULT_MAX_STEPS if value is None else value

    def input_messages(self) -> list[MessageCreate]:
        """The messages to send: `messages`, then `input` as one user message (none when the request answers
        calls waiting for approval).

        Raises:
            InvalidInputError: there is nothing to send, or approval answers come with other messages.
        """
        messages = [item for item in self.messages or () if isinstance(item, MessageCreate)]
        if self.input is not None:
            messages.append(MessageCreate(role="user", content=self.input))
        answers = self.approval_answers()
        if answers and messages:
            raise InvalidInputError("Approval answers cannot be sent together with other messages")
        if not messages and not answers:
            raise InvalidInputError("A message request needs `messages` or `input`")
        return messages

    def approval_answers(self) -> list[ApprovalCreate | ToolReturnCreate]:
        return [item for item in self.messages or () if not isinstance(item, MessageCreate)]


class _Message(BaseModel):
    """Fields every Letta message carries."""

    id: str
    date: datetime
    name: str | None = None
    otid: str | None = None
    sender_id: str | None = None
    step_id: str | None = None
    is_err: bool | None = None
    seq_id: int | None = None
    run_id: str | None = None


class SystemMessage(_Message):
    message_type: Literal["system_message"] = "system_message"
    content: str


class UserMessage(_Message):
    message_type: Literal["user_message"] = "user_message"
    content: str


class ReasoningMessage(_Message):
    message_type: Literal["reasoning_message"] = "reasoning_message"
    source: Literal["reasoner_model", "non_reasoner_model"] = "non_reasoner_model"
    reasoning: str
    signature: str | None = None


class ToolCall(BaseModel):
    name: str | None
    arguments: str | None
    tool_call_id: str | None


class ToolCallMessage(_Message):
    message_type: Literal["tool_call_message"] = "tool_call_message"
    tool_call: ToolCall
    """The first call (deprecated in 1.x, still read by 0.1.x clients)."""
    tool_calls: list[ToolCall] | ToolCall
    """Every call of the message; a single delta object in token-streamed chunks, as Letta's."""


class ToolReturn(BaseModel):
    type: Literal["tool"] = "tool"
    tool_return: str
    status: Literal["success", "error"]
    tool_call_id: str
    stdout: list[str] | None = None
    stderr: list[str] | None = None


class ToolReturnMessage(_Message):
    message_type: Literal["tool_return_message"] = "tool_return_message"
    tool_return: str
    status: Literal["success", "error"]
    tool_call_id: str
    stdout: list[str] | None = None
    stderr: list[str] | None = None
    tool_returns: list[ToolReturn] = Field(default_factory=list)


class AssistantMessage(_Message):
    message_type: Literal["assistant_message"] = "assistant_message"
    content: str


class ApprovalRequestMessage(_Message):
    """Calls that wait for the client: tools that need approval, and client-side tools. Its `otid` is its `id`."""

    message_type: Literal["approval_request_message"] = "approval_request_message"
    tool_call: ToolCall
    tool_calls: list[ToolCall] | ToolCall


class ApprovalResponseMessage(_Message):
    """The client's answers, as stored in the history (`approve`, `reason`: the first answer's, deprecated)."""

    message_type: Literal["approval_response_message"] = "approval_response_message"
    approvals: list[Annotated[ApprovalReturn | ToolReturn, Field(discriminator="type")]] | None = None
    approve: bool | None = None
    approval_request_id: str | None = None
    reason: str | None = None


LettaMessage = Annotated[
    SystemMessage
    | UserMessage
    | ReasoningMessage
    | ToolCallMessage
    | ToolReturnMessage
    | AssistantMessage
    | ApprovalRequestMessage
    | ApprovalResponseMessage,
    Field(discriminator="message_type"),
]

StopReasonType = Literal[
    "end_turn",
    "error",
    "llm_api_error",
    "invalid_llm_response",
    "invalid_tool_call",
    "max_steps",
    "no_tool_call",
    "tool_rule",
    "cancelled",
    "requires_approval",
    "approval_expired",
]


class StopReason(BaseModel):
    message_type: Literal["stop_reason"] = "stop_reason"
    stop_reason: StopReasonType


class UsageStatistics(BaseModel):
    message_type: Literal["usage_statistics"] = "usage_statistics"
    completion_tokens: int = 0
    prompt_tokens: int = 0
    total_tokens: int = 0
    step_count: int = 0
    steps_messages: None = None
    run_ids: list[str] | None = None
    cached_input_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    context_tokens: int | None = None


class LettaResponse(BaseModel):
    messages: list[LettaMessage]
    stop_reason: StopReason
    usage: UsageStatistics
    logprobs: None = None
    turns: None = None


class Ping(BaseModel):
    id: str
    message_type: Literal["ping"] = "ping"
    run_id: str | None = None


class ErrorEvent(BaseModel):
    """An error after a stream started, sent as the SSE event `error` (the 1.x SDK skips named events)."""

    message_type: Literal["error_message"] = "error_message"
    run_id: str | None = None
    error_type: str
    message: str
    detail: str | None = None
    seq_id: int | None = None


class CancelledEvent(BaseModel):
    """Sent as the SSE event `cancelled` when a run is cancelled while streamed."""

    message: str


class MessageUpdate(BaseModel):
    """`PATCH /v1/agents/{id}/messages/{message_id}`: new text for a user, system, assistant or reasoning
    message (Letta's `message_type`-tagged update bodies)."""

    model_config = ConfigDict(extra="ignore")

    message_type: Literal["user_message", "system_message", "assistant_message", "reasoning_message"] | None = None
    content: str | list[TextContent] | None = None
    reasoning: str | None = None

    @property
    def text(self) -> str | None:
        if self.content is None:
            return None
        return self.content if isinstance(self.content, str) else "".join(part.text for part in self.content)


class ResetMessages(BaseModel):
    """`PATCH /v1/agents/{id}/reset-messages` (1.x sends its option in the body)."""

    add_default_initial_messages: bool | None = None
