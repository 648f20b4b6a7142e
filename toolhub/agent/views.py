"""Stored messages as Letta's API shows them: one row can become several API messages that share its `id`
(reasoning, then a tool call or an assistant message), each with an `otid` of its own derived from the row's.

With `use_assistant_message` (the default), a call of the assistant-message tool (`send_message`) is shown as an
`assistant_message` holding its `message` argument, and that tool's return is hidden.

Calls put to the client are an `approval_request_message` (whose `otid` is its `id`, as Letta's), the client's
answers an `approval_response_message`. The returns of one step are one `tool_return_message` listing them all in
call order (`tool_return` is the first), as Letta shows parallel calls."""

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from toolhub.agent.tool_schemas import THOUGHT_KEYS
from toolhub.server.schemas.messages import (
    ApprovalRequestMessage,
    ApprovalResponseMessage,
    ApprovalReturn,
    AssistantMessage,
    ReasoningMessage,
    SystemMessage,
    ToolCall,
    ToolCallMessage,
    ToolReturn,
    ToolReturnMessage,
    UserMessage,
)
from toolhub.store.models import Message

ASSISTANT_TOOL = "send_message"
ASSISTANT_KWARG = "message"


@dataclass(frozen=True, kw_only=True)
class ViewOptions:
    use_assistant_message: bool = True
    assistant_tool: str = ASSISTANT_TOOL
    assistant_kwarg: str = ASSISTANT_KWARG
    include_types: frozenset[str] | None = None
    """Only these `message_type`s (None: all)."""


def otid(message_id: str, index: int) -> str:
    """The `otid` of the `index`-th API message made from the stored message `message_id` (as Letta derives it)."""
    uuid = message_id.split("-", 1)[-1]
    return f"{uuid[:-2]}{index:02x}"


def letta_messages(rows: Iterable[Message], options: ViewOptions = ViewOptions()) -> list[Any]:
    views = [view for group in _step_groups(rows) for view in _views(group, options)]
    if options.include_types is None:
        return views
    return [view for view in views if view.message_type in options.include_types]


def display_arguments(arguments: str) -> str:
    """A call's arguments as the API shows them: without the inner-thoughts argument the loop asked for."""
    try:
        parsed = json.loads(arguments)
    except ValueError:
        return arguments
    if not isinstance(parsed, dict) or not THOUGHT_KEYS & parsed.keys():
        return arguments
    return json.dumps({key: value for key, value in parsed.items() if key not in THOUGHT_KEYS}, ensure_ascii=False)


def assistant_text(arguments: str, kwarg: str) -> str | None:
    try:
        parsed = json.loads(arguments)
    except ValueError:
        return None
    value = parsed.get(kwarg) if isinstance(parsed, dict) else None
    return value if isinstance(value, str) else None


def _step_groups(rows: Iterable[Message]) -> Iterator[list[Message]]:
    """Each row alone, but consecutive tool returns of one step together."""
    group: list[Message] = []
    for row in rows:
        same_step = row.step_id is not None and row.step_id == group[-1].step_id if group else False
        if same_step and row.role == "tool" and group[-1].role == "tool":
            group.append(row)
            continue
        if group:
            yield group
        group = [row]
    if group:
        yield group


def _common(row: Message) -> dict[str, Any]:
    return {
        "id": row.id,
        "date": row.created_at.replace(microsecond=0),
        "sender_id": row.sender_id,
        "step_id": row.step_id,
        "is_err": row.is_err or None,
        "run_id": row.run_id,
    }


def _views(group: list[Message], options: ViewOptions) -> Iterator[Any]:
    row = group[0]
    common = _common(row)
    if row.role == "system":
        yield SystemMessage(**common, otid=otid(row.id, 0), content=row.content or "")
    elif row.role == "user":
        yield UserMessage(**common, otid=row.otid or otid(row.id, 0), name=row.name, content=row.content or "")
    elif row.role == "assistant":
        yield from _assistant_views(row, common, options)
    elif row.role == "tool":
        yield from _tool_views(group, options)
    elif row.role == "approval":
        yield _approval_response(row, common)


def _assistant_views(row: Message, common: dict[str, Any], options: ViewOptions) -> Iterator[Any]:
    index = 0
    if row.reasoning:
        yield ReasoningMessage(**common, otid=otid(row.id, index), reasoning=row.reasoning)
        index += 1
    calls = row.tool_calls or []
    requested = set(row.requested_approval or ())
    shown_calls = []
    asked = []
    for call in calls:
        text = assistant_text(call["arguments"], options.assistant_kwarg)
        shown = ToolCall(name=call["name"], arguments=display_arguments(call["arguments"]), tool_call_id=call["id"])
        if call["id"] in requested:
            asked.append(shown)
        elif options.use_assistant_message and call["name"] == options.assistant_tool and text is not None:
            yield AssistantMessage(**common, otid=otid(row.id, index), content=text)
            index += 1
        else:
            shown_calls.append(shown)
    if shown_calls:
        yield ToolCallMessage(**common, otid=otid(row.id, index), tool_call=shown_calls[0], tool_calls=shown_calls)
        index += 1
    if asked:
        yield ApprovalRequestMessage(**common, otid=row.id, tool_call=asked[0], tool_calls=asked)
    if row.content:
        yield AssistantMessage(**common, otid=otid(row.id, index), content=row.content)


def _tool_views(group: Sequence[Message], options: ViewOptions) -> Iterator[Any]:
    shown = [row for row in group if not (options.use_assistant_message and row.name == options.assistant_tool)]
    returns = [
        ToolReturn(**{k: v for k, v in item.items() if k in ToolReturn.model_fields})
        for row in shown
        for item in row.tool_returns or []
    ]
    if not returns:
        return
    row = shown[0]
    first = returns[0]
    yield ToolReturnMessage(
        **_common(row),
        otid=otid(row.id, 0),
        name=row.name,
        tool_return=first.tool_return,
        status=first.status,
        tool_call_id=first.tool_call_id,
        stdout=first.stdout,
        stderr=first.stderr,
        tool_returns=returns,
    )


def _approval_response(row: Message, common: dict[str, Any]) -> ApprovalResponseMessage:
    answers = [
        ApprovalReturn.model_validate(item) if item.get("type") == "approval" else ToolReturn.model_validate(item)
        for item in row.approvals or ()
    ]
    first = next((answer for answer in answers if isinstance(answer, ApprovalReturn)), None)
    return ApprovalResponseMessage(
        **common,
        otid=otid(row.id, 0),
        approvals=answers,
        approve=first.approve if first else None,
        approval_request_id=row.approval_request_id,
        reason=first.reason if first else None,
    )
