"""What a fake model answers: scripted replies, consumed one per request, shared by the provider fakes.

A `Reply` says what the model "writes" (text, reasoning, tool calls) or which HTTP error the provider sends; each
fake renders it in its own wire format (OpenAI chat completions, Anthropic messages).
"""

import json
import math
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ScriptedCall:
    name: str
    arguments: str
    """The JSON text the model "writes"."""
    id: str | None = None
    """None: the fake numbers it."""


@dataclass(frozen=True)
class Reply:
    """One scripted answer: content and/or tool calls, or an HTTP error."""

    content: str | None = None
    reasoning: str | None = None
    """OpenAI fake: `reasoning_content` (as DeepSeek and vLLM send it); Anthropic fake: a thinking block."""
    calls: tuple[ScriptedCall, ...] = ()
    status: int = 200
    error_message: str = ""


def text(content: str, *, reasoning: str | None = None) -> Reply:
    """A plain assistant answer."""
    return Reply(content=content, reasoning=reasoning)


def _arguments(arguments: dict[str, Any] | str) -> str:
    return arguments if isinstance(arguments, str) else json.dumps(arguments)


def tool_call(
    name: str, arguments: dict[str, Any] | str, *, id: str | None = None, content: str | None = None
) -> Reply:
    """One tool call (a `str` is sent as-is, so a test can send malformed JSON)."""
    return Reply(content=content, calls=(ScriptedCall(name, _arguments(arguments), id),))


def tool_calls(*calls: tuple[str, dict[str, Any] | str]) -> Reply:
    """Several (parallel) tool calls in one answer."""
    return Reply(calls=tuple(ScriptedCall(name, _arguments(arguments)) for name, arguments in calls))


def error(status: int, message: str) -> Reply:
    """The provider answers with this HTTP status and its own error body."""
    return Reply(status=status, error_message=message)


def tokens(text: str) -> int:
    """A deterministic token count: one per four characters."""
    return max(1, math.ceil(len(text) / 4))


def pieces(text: str, count: int = 3) -> list[str]:
    """`text` cut in up to `count` non-empty pieces, so that clients must join what they stream."""
    size = max(1, math.ceil(len(text) / count))
    return [text[start : start + size] for start in range(0, len(text), size)]


class Script:
    """The queue of replies and the record of request bodies, safe across the server's threads."""

    def __init__(self, default: Callable[[dict[str, Any]], Reply]) -> None:
        self.requests: list[dict[str, Any]] = []
        self._replies: deque[Reply] = deque()
        self._default = default
        self._lock = threading.Lock()
        self._count = 0

    def add(self, *replies: Reply) -> None:
        with self._lock:
            self._replies.extend(replies)

    def reset(self) -> None:
        with self._lock:
            self._replies.clear()
            self.requests.clear()
            self._count = 0

    def take(self, body: dict[str, Any]) -> tuple[Reply, int]:
        """Record `body`; the next reply (or the default for `body`) and this request's number from 1."""
        with self._lock:
            self.requests.append(body)
            self._count += 1
            reply = self._replies.popleft() if self._replies else self._default(body)
            return reply, self._count
