"""What the step loop asks of an LLM and what it gets back, apart from any provider's SDK.

Messages and tools are in the OpenAI chat-completions shape (the lingua franca of every provider this server
talks to); an adapter for another API (Anthropic) converts at its edge. Failures of the provider are
`LLMError`s with a `code` the loop turns into the stop reason `llm_api_error`.
"""

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from toolhub.errors import ToolhubError

ToolChoice = Literal["auto", "required", "none"] | Mapping[str, Any]
"""`"auto"`, `"required"`, `"none"` or `{"type": "function", "function": {"name": ...}}` to force one tool."""


@dataclass(frozen=True, kw_only=True)
class LLMRequest:
    model: str
    """The provider's own model name (the part of the handle after `provider/`)."""
    messages: Sequence[Mapping[str, Any]]
    """OpenAI chat messages: `{"role", "content"}`, assistant `tool_calls`, tool `tool_call_id`."""
    tools: Sequence[Mapping[str, Any]] = ()
    """OpenAI function tools: `{"type": "function", "function": {"name", "description", "parameters"[, "strict"]}}`."""
    tool_choice: ToolChoice | None = None
    parallel_tool_calls: bool | None = None
    """None: do not send the parameter (some providers refuse it)."""
    temperature: float | None = None
    max_tokens: int | None = None


@dataclass(frozen=True, kw_only=True)
class ToolCallRequest:
    """A tool call the model asked for; `arguments` is the raw JSON text the model wrote."""

    id: str
    name: str
    arguments: str


@dataclass(frozen=True, kw_only=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    cached_input_tokens: int = 0
    reasoning_tokens: int = 0


@dataclass(frozen=True, kw_only=True)
class LLMResponse:
    content: str | None = None
    """Plain assistant text."""
    reasoning: str | None = None
    """Reasoning the provider returned apart from the content (Anthropic thinking, `reasoning_content`)."""
    tool_calls: tuple[ToolCallRequest, ...] = ()
    usage: Usage = field(default_factory=Usage)
    model: str = ""
    request_id: str | None = None
    """The provider's id of this completion, kept on the step."""
    finish_reason: str | None = None


@dataclass(frozen=True, kw_only=True)
class LLMDelta:
    """One streamed piece. Tool-call pieces carry `tool_call_index`; the first piece of a call has its `id` and
    `name`, later ones only argument text. The last event of a stream is an `LLMDelta` with `final` set."""

    content: str | None = None
    reasoning: str | None = None
    tool_call_index: int | None = None
    tool_call_id: str | None = None
    tool_name: str | None = None
    arguments: str | None = None
    final: LLMResponse | None = None


class LLMClient(Protocol):
    """One provider's chat API."""

    async def complete(self, request: LLMRequest) -> LLMResponse:
        """Raises LLMError."""
        ...

    def stream(self, request: LLMRequest) -> AsyncIterator[LLMDelta]:
        """Token deltas, then one `LLMDelta(final=...)` with the whole response. Raises LLMError."""
        ...


class LLMError(ToolhubError):
    """The provider could not answer: not configured, refused the key, unreachable, rate-limited, or answered
    with something that is not a completion. A message call stops with stop reason `llm_api_error`; without
    streaming the client gets 502 with this error's `code`."""

    status_code = 502
    code = "llm_api_error"


class LLMNotConfiguredError(LLMError):
    """The handle names a provider this server has no key or endpoint for."""

    code = "llm_not_configured"


class LLMAuthenticationError(LLMError):
    """The provider refused the API key (its 401/403)."""

    code = "llm_authentication"


class LLMUnreachableError(LLMError):
    """Connection refused, DNS failure or timeout: the same request may work later."""

    code = "llm_unreachable"
    retryable = True


class LLMRateLimitError(LLMError):
    """The provider's 429."""

    code = "llm_rate_limit"
    retryable = True


class LLMBadResponseError(LLMError):
    """The provider answered with an error status or an answer that is not a usable completion."""

    code = "llm_bad_response"
