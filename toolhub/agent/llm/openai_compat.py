"""Every OpenAI-compatible chat-completions provider (OpenAI, Ollama, vLLM, LM Studio, OpenRouter, Together, Groq,
DeepSeek, xAI), told apart only by base URL and key, on the official `openai` SDK.

The SDK never retries (the loop decides, from `LLMError.retryable`) and connects with a short timeout, so a dead
endpoint fails at once instead of after minutes of back-off.
"""

import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

import openai
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from openai.types.completion_usage import CompletionUsage

from toolhub.agent.llm.base import LLMBadResponseError, LLMDelta, LLMRequest, LLMResponse, ToolCallRequest, Usage
from toolhub.agent.llm.sdk_errors import translated_errors

CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 300.0
"""A long answer from a slow local model may take minutes; the connect timeout is what catches a dead host."""
CHAT_COMPLETIONS = "/chat/completions"
"""Posted with the SDK's raw `post`: the body is already plain JSON, and `chat.completions.create` would walk all
of it through its typed-dict transform first — tens of milliseconds for a long conversation with many tools."""


class OpenAICompatClient:
    """An `LLMClient` for one OpenAI-compatible endpoint."""

    def __init__(
        self,
        *,
        provider: str,
        base_url: str,
        api_key: str,
        max_tokens_param: str = "max_tokens",
        timeout: float = READ_TIMEOUT,
    ) -> None:
        """`max_tokens_param`: OpenAI's own API wants `max_completion_tokens`; compatible servers `max_tokens`."""
        self.provider = provider
        self.base_url = base_url
        self._key = api_key
        self._max_tokens_param = max_tokens_param
        self._sdk = openai.AsyncOpenAI(
            api_key=api_key,
            base_url=base_url,
            max_retries=0,
            timeout=openai.Timeout(timeout, connect=CONNECT_TIMEOUT),
        )

    def _errors(self) -> AbstractContextManager[None]:
        return translated_errors(openai, provider=self.provider, endpoint=self.base_url, secret=self._key)

    async def complete(self, request: LLMRequest) -> LLMResponse:
        with self._errors():
            completion = await self._sdk.post(CHAT_COMPLETIONS, body=self._params(request), cast_to=ChatCompletion)
        return self._response(completion)

    async def stream(self, request: LLMRequest) -> AsyncIterator[LLMDelta]:
        params = self._params(request) | {"stream": True, "stream_options": {"include_usage": True}}
        collected = _StreamState()
        with self._errors():
            chunks = await self._sdk.post(
                CHAT_COMPLETIONS,
                body=params,
                cast_to=ChatCompletion,
                stream=True,
                stream_cls=openai.AsyncStream[ChatCompletionChunk],
            )
            async with chunks:
                async for chunk in chunks:
                    for delta in collected.add(chunk):
                        yield delta
        if not collected.seen_choice:
            raise LLMBadResponseError(f"{self.provider} ended the stream without a completion")
        yield LLMDelta(final=collected.response())

    async def list_models(self, timeout: float) -> list[dict[str, Any]]:
        """The endpoint's `/models` entries (`id` and whatever else it tells, e.g. `context_length`)."""
        with self._errors():
            page = await self._sdk.with_options(timeout=timeout).models.list()
        return [model.model_dump() for model in page.data]

    async def aclose(self) -> None:
        await self._sdk.close()

    def _params(self, request: LLMRequest) -> dict[str, Any]:
        params: dict[str, Any] = {"model": request.model, "messages": [dict(m) for m in request.messages]}
        if request.tools:
            params["tools"] = [dict(tool) for tool in request.tools]
            if request.tool_choice is not None:
                choice = request.tool_choice
                params["tool_choice"] = choice if isinstance(choice, str) else dict(choice)
            if request.parallel_tool_calls is not None:
                params["parallel_tool_calls"] = request.parallel_tool_calls
        if request.temperature is not None:
            params["temperature"] = request.temperature
        if request.max_tokens is not None:
            params[self._max_tokens_param] = request.max_tokens
        return params

    def _response(self, completion: ChatCompletion) -> LLMResponse:
        if not completion.choices:
            raise LLMBadResponseError(f"{self.provider} answered without a choice")
        choice = completion.choices[0]
        message = choice.message
        calls = tuple(
            ToolCallRequest(id=call.id or _call_id(), name=call.function.name, arguments=call.function.arguments or "")
            for call in message.tool_calls or ()
            if call.type == "function"
        )
        return LLMResponse(
            content=message.content,
            reasoning=_reasoning(message.model_extra),
            tool_calls=calls,
            usage=_usage(completion.usage),
            model=completion.model,
            request_id=completion.id,
            finish_reason=choice.finish_reason,
        )


def _call_id() -> str:
    """Some local servers send tool calls without ids; the loop needs one to pair the call with its return."""
    return f"call_{uuid.uuid4().hex[:24]}"


def _reasoning(extra: Mapping[str, Any] | None) -> str | None:
    """`reasoning_content` (DeepSeek, vLLM) or `reasoning` (OpenRouter, newer vLLM), when the provider sends it."""
    extra = extra or {}
    value = extra.get("reasoning_content") or extra.get("reasoning")
    return value if isinstance(value, str) and value else None


def _usage(usage: CompletionUsage | None) -> Usage:
    if usage is None:
        return Usage()
    cached = usage.prompt_tokens_details.cached_tokens if usage.prompt_tokens_details else None
    reasoning = usage.completion_tokens_details.reasoning_tokens if usage.completion_tokens_details else None
    return Usage(
        prompt_tokens=usage.prompt_tokens or 0,
        completion_tokens=usage.completion_tokens or 0,
        total_tokens=usage.total_tokens or 0,
        cached_input_tokens=cached or 0,
        reasoning_tokens=reasoning or 0,
    )


@dataclass
class _Call:
    id: str | None = None
    name: str | None = None
    arguments: list[str] = field(default_factory=list)
    announced: bool = False
    """Whether its first delta (with id and name) has gone out."""


@dataclass
class _StreamState:
    """What the chunks of one stream add up to."""

    content: list[str] = field(default_factory=list)
    reasoning: list[str] = field(default_factory=list)
    calls: dict[int, _Call] = field(default_factory=dict)
    usage: Usage = field(default_factory=Usage)
    model: str = ""
    request_id: str | None = None
    finish_reason: str | None = None
    seen_choice: bool = False

    def add(self, chunk: ChatCompletionChunk) -> list[LLMDelta]:
        self.model = chunk.model or self.model
        self.request_id = chunk.id or self.request_id
        if chunk.usage is not None:
            self.usage = _usage(chunk.usage)
        if not chunk.choices:
            return []
        self.seen_choice = True
        choice = chunk.choices[0]
        self.finish_reason = choice.finish_reason or self.finish_reason
        delta = choice.delta
        out: list[LLMDelta] = []
        if reasoning := _reasoning(delta.model_extra):
            self.reasoning.append(reasoning)
            out.append(LLMDelta(reasoning=reasoning))
        if delta.content:
            self.content.append(delta.content)
            out.append(LLMDelta(content=delta.content))
        for piece in delta.tool_calls or ():
            out.extend(self._call_piece(piece.index, piece.id, piece.function))
        return out

    def _call_piece(self, index: int, call_id: str | None, function: Any) -> list[LLMDelta]:
        call = self.calls.setdefault(index, _Call())
        call.id = call.id or call_id
        name = function.name if function else None
        call.name = call.name or name
        text = (function.arguments if function else None) or ""
        if call.announced:
            call.arguments.append(text)
            return [LLMDelta(tool_call_index=index, arguments=text)] if text else []
        call.arguments.append(text)
        if call.name is None:
            return []  # hold the arguments until the name arrives, so the first delta carries it
        call.id = call.id or _call_id()
        call.announced = True
        held = "".join(call.arguments)
        return [LLMDelta(tool_call_index=index, tool_call_id=call.id, tool_name=call.name, arguments=held or None)]

    def response(self) -> LLMResponse:
        calls = tuple(
            ToolCallRequest(id=call.id or _call_id(), name=call.name, arguments="".join(call.arguments))
            for _, call in sorted(self.calls.items())
            if call.name
        )
        return LLMResponse(
            content="".join(self.content) or None,
            reasoning="".join(self.reasoning) or None,
            tool_calls=calls,
            usage=self.usage,
            model=self.model,
            request_id=self.request_id,
            finish_reason=self.finish_reason,
        )
