"""Letta's message wire shapes: what a message request takes (`LettaRequest`) and what it answers
(`LettaResponse`, the `LettaMessage` types, stop reasons, usage), for both SDK generations.

One stored message can surface as several API messages sharing its `id` (reasoning, then a tool call or an
assistant message), each with its own `otid`; `toolhub.agent.views` makes them from stored rows.
"""

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

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


class LettaRequest(BaseModel):
    """The body of `POST /v1/agents/{id}/messages` (and of the streaming and async variants)."""

    model_config = ConfigDict(extra="ignore")

    messages: list[MessageCreate] | None = None
    input: str | list[TextContent] | None = Field(default=None, description="Shorthand for one user message (1.x).")
    max_steps: int = Field(default=DEFAULT_MAX_STEPS, ge=1, le=MAX_STEPS_LIMIT)
    use_assistant_message: bool = True
    assistant_message_tool_name: str = "send_message"
    assistant_message_tool_kwarg: str = "message"
    include_return_message_types: list[str] | None = None
    streaming: bool = Field(default=False, description="1.x clients: stream the answer as /messages/stream does.")
    stream_tokens: bool = False
    include_pings: bool = True

    @field_validator("max_steps", mode="before")
    @classmethod
    def _default_steps(cls, value: Any) -> Any:
        return DEFAULT_MAX_STEPS if value is None else value

    def input_messages(self) -> list[MessageCreate]:
        """The messages to send: `messages`, then `input` as one user message. Raises InvalidInputError when
        there are none."""
        messages = list(self.messages or [])
        if self.input is not None:
            messages.append(MessageCreate(role="user", content=self.input))
        if not messages:
            raise InvalidInputError("A message request needs `messages` or `input`")
        return messages


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


LettaMessage = Annotated[
    SystemMessage | UserMessage | ReasoningMessage | ToolCallMessage | ToolReturnMessage | AssistantMessage,
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
