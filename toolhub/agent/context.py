"""The chat messages the model reads: the freshly rendered system prompt, then the agent's in-context messages
in order. A tool call whose return was never stored (the server stopped while the tool ran) is answered with an
error return here, so the provider never sees an unanswered call."""

import json
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from toolhub.store.models import Message

NON_USER_PREFIX = "[This is an automated system message hidden from the user] "
INTERRUPTED = "Error: the tool call was interrupted before it returned (the server stopped); it may not have run."


def letta_time(now: datetime, timezone: str) -> str:
    """Letta's timestamp in tool returns and heartbeats, in the agent's time zone."""
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return now.astimezone(zone).strftime("%Y-%m-%d %I:%M:%S %p %Z%z")


def tool_result_text(*, success: bool, message: str | None, time: str) -> str:
    """Letta's wrapper around a tool's return, as the model reads it."""
    return json.dumps({"status": "OK" if success else "Failed", "message": message, "time": time}, indent=2,
                      ensure_ascii=False)


def heartbeat_text(reason: str, time: str) -> str:
    return json.dumps({"type": "heartbeat", "reason": NON_USER_PREFIX + reason, "time": time}, indent=2,
                      ensure_ascii=False)


def chat_messages(system_prompt: str, rows: Sequence[Message], *, time: str) -> list[dict[str, Any]]:
    """`rows` are the agent's in-context messages (the stored system message first is replaced by the prompt)."""
    messages: list[dict[str, Any]] = [{"role": "system", "content": system_prompt}]
    messages.extend(_chat(rows, time))
    return messages


def _chat(rows: Iterable[Message], time: str) -> Iterator[dict[str, Any]]:
    pending: list[str] = []
    for row in rows:
        if row.role == "system":
            continue
        if row.role not in ("tool", "approval"):  # the client's answers to waiting calls come before their returns
            yield from _interrupted(pending, time)
            pending = []
        if row.role == "user":
            yield {"role": "user", "content": row.content or ""}
        elif row.role == "assistant":
            message: dict[str, Any] = {"role": "assistant", "content": row.content or None}
            if row.tool_calls:
                message["tool_calls"] = [
                    {"id": call["id"], "type": "function", "function": {"name": call["name"], "arguments": call["arguments"]}}
                    for call in row.tool_calls
                ]
                pending = [call["id"] for call in row.tool_calls]
            yield message
        elif row.role == "tool":
            if row.tool_call_id in pending:
                pending.remove(row.tool_call_id)
                yield {"role": "tool", "tool_call_id": row.tool_call_id, "content": row.content or ""}
    yield from _interrupted(pending, time)


def _interrupted(pending: list[str], time: str) -> Iterator[dict[str, Any]]:
    for call_id in pending:
        yield {"role": "tool", "tool_call_id": call_id, "content": tool_result_text(success=False, message=INTERRUPTED, time=time)}
