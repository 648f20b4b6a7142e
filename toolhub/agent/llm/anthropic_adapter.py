"""Anthropic's Messages API on the official `anthropic` SDK, behind the same `LLMClient` as every other provider.

Requests are converted by `anthropic_convert`; answers come back in the OpenAI-shaped types of `base`: text
blocks → content, thinking blocks → reasoning, `tool_use` blocks → tool calls (numbered among themselves, not
among all blocks), stop reasons in OpenAI's words. Like the OpenAI adapter, the SDK never retries on its own.
"""

import json
from collections.abc import AsyncIterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from typing import Any

import anthropic
from anthropic.types import Message, MessageDeltaUsage, RawMessageStreamEvent
from anthropic.types import Usage as AnthropicUsage

from toolhub.agent.llm.anthropic_convert import request_params
from toolhub.agent.llm.base import LLMBadResponseError, LLMDelta, LLMRequest, LLMResponse, ToolCallRequest, Usage
from toolhub.agent.llm.openai_compat import CONNECT_TIMEOUT, READ_TIMEOUT
from toolhub.agent.llm.sdk_errors import translated_errors

DEFAULT_BASE_URL = "https://api.anthropic.com"
_FINISH_REASONS = {"end_turn": "stop", "stop_sequence": "stop", "tool_use": "tool_calls", "max_tokens": "length"}


def finish_reason(stop_reason: str | None) -> str | None:
    """Anthropic's stop reason in chat-completions words (unknown ones pass through)."""
    return _FINISH_REASONS.get(stop_reason, stop_reason) if stop_reason else None


class AnthropicClient:
    """An `LLMClient` for Anthropic (or anything speaking its Messages API at `base_url`)."""

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str = DEFAULT_BASE_URL,
        provider: str = "anthropic",
        timeout: float = READ_TIMEOUT,
    ) -> None:
        self.provider = provider
        self.base_url = base_url
        self._key = api_key
        self._sdk = anthropic.AsyncAnthropic(
            api_key=api_key,
            base_url=base_url,
            max_retries=0,
            timeout=anthropic.Timeout(timeout, connect=CONNECT_TIMEOUT),
        )

    def _errors(self) -> AbstractContextManager[None]:
        return translated_errors(anthropic, provider=self.provider, endpoint=self.base_url, secret=self._key)

    async def complete(self, request: LLMRequest) -> LLMResponse:
        with self._errors():
            message = await self._sdk.messages.create(**request_params(request))
        return _response(message)

    async def stream(self, request: LLMRequest) -> AsyncIterator[LLMDelta]:
        collected = _StreamState()
        with self._errors():
            async with await self._sdk.messages.create(**request_params(request), stream=True) as events:
                async for event in events:
                    for delta in collected.add(event):
                        yield delta
        if not collected.started:
            raise LLMBadResponseError(f"{self.provider} ended the stream without a message")
        yield LLMDelta(final=collected.response())

    async def list_models(self, timeout: float) -> list[dict[str, Any]]:
        """The models the key may use (`id`, `display_name`)."""
        with self._errors():
            page = await self._sdk.with_options(timeout=timeout).models.list()
        return [{"id": model.id, "display_name": model.display_name} for model in page.data]

    async def aclose(self) -> None:
        await self._sdk.close()


def _usage(usage: AnthropicUsage) -> Usage:
    """Anthropic counts cached input apart from `input_tokens`; the prompt is all three together."""
    cached = usage.cache_read_input_tokens or 0
    prompt_tokens = (usage.input_tokens or 0) + cached + (usage.cache_creation_input_tokens or 0)
    completion = usage.output_tokens or 0
    return Usage(
        prompt_tokens=prompt_tokens,
        completion_tokens=completion,
        total_tokens=prompt_tokens + completion,
        cached_input_tokens=cached,
    )


def _with_output(usage: Usage, delta: MessageDeltaUsage) -> Usage:
    """`message_delta` carries the running output count; the input was counted at `message_start`."""
    completion = delta.output_tokens or 0
    return replace(usage, completion_tokens=completion, total_tokens=usage.prompt_tokens + completion)


def _response(message: Message) -> LLMResponse:
    texts: list[str] = []
    thoughts: list[str] = []
    calls: list[ToolCallRequest] = []
    for block in message.content:
        if block.type == "text":
            texts.append(block.text)
        elif block.type == "thinking":
            thoughts.append(block.thinking)
        elif block.type == "tool_use":
            calls.append(ToolCallRequest(id=block.id, name=block.name, arguments=json.dumps(block.input)))
    return LLMResponse(
        content="".join(texts) or None,
        reasoning="".join(thoughts) or None,
        tool_calls=tuple(calls),
        usage=_usage(message.usage),
        model=message.model,
        request_id=message.id,
        finish_reason=finish_reason(message.stop_reason),
    )


@dataclass
class _Call:
    id: str
    name: str
    initial_input: Any
    arguments: list[str] = field(default_factory=list)


@dataclass
class _StreamState:
    """What the events of one stream add up to."""

    started: bool = False
    content: list[str] = field(default_factory=list)
    reasoning: list[str] = field(default_factory=list)
    calls: list[_Call] = field(default_factory=list)
    call_of_block: dict[int, int] = field(default_factory=dict)
    """Content-block index → tool-call index (text and thinking blocks are numbered too)."""
    model: str = ""
    request_id: str | None = None
    usage: Usage = field(default_factory=Usage)
    stop_reason: str | None = None

    def add(self, event: RawMessageStreamEvent) -> list[LLMDelta]:
        if event.type == "message_start":
            self.started = True
            self.model, self.request_id = event.message.model, event.message.id
            self.usage = _usage(event.message.usage)
        elif event.type == "message_delta":
            self.stop_reason = event.delta.stop_reason or self.stop_reason
            self.usage = _with_output(self.usage, event.usage)
        elif event.type == "content_block_start":
            return self._block_start(event.index, event.content_block)
        elif event.type == "content_block_delta":
            return self._block_delta(event.index, event.delta)
        return []

    def _block_start(self, index: int, block: Any) -> list[LLMDelta]:
        if block.type == "tool_use":
            self.call_of_block[index] = len(self.calls)
            self.calls.append(_Call(id=block.id, name=block.name, initial_input=block.input))
            return [LLMDelta(tool_call_index=self.call_of_block[index], tool_call_id=block.id, tool_name=block.name)]
        if block.type == "text" and block.text:
            self.content.append(block.text)
            return [LLMDelta(content=block.text)]
        if block.type == "thinking" and block.thinking:
            self.reasoning.append(block.thinking)
            return [LLMDelta(reasoning=block.thinking)]
        return []

    def _block_delta(self, index: int, delta: Any) -> list[LLMDelta]:
        if delta.type == "text_delta" and delta.text:
            self.content.append(delta.text)
            return [LLMDelta(content=delta.text)]
        if delta.type == "thinking_delta" and delta.thinking:
            self.reasoning.append(delta.thinking)
            return [LLMDelta(reasoning=delta.thinking)]
        if delta.type == "input_json_delta" and delta.partial_json and index in self.call_of_block:
            ordinal = self.call_of_block[index]
            self.calls[ordinal].arguments.append(delta.partial_json)
            return [LLMDelta(tool_call_index=ordinal, arguments=delta.partial_json)]
        return []

    def response(self) -> LLMResponse:
        calls = tuple(
            ToolCallRequest(
                id=call.id, name=call.name, arguments="".join(call.arguments) or json.dumps(call.initial_input)
            )
            for call in self.calls
        )
        return LLMResponse(
            content="".join(self.content) or None,
            reasoning="".join(self.reasoning) or None,
            tool_calls=calls,
            usage=self.usage,
            model=self.model,
            request_id=self.request_id,
            finish_reason=finish_reason(self.stop_reason),
        )
