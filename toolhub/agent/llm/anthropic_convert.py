"""OpenAI-shaped requests → Anthropic Messages API parameters, as pure functions.

Anthropic differs from chat completions in ways that matter to the step loop: the system prompt is a separate
parameter; tool calls are `tool_use` blocks in the assistant turn and their results `tool_result` blocks in the
next *user* turn (all results of parallel calls in one turn); roles must alternate, and the first turn must be
the user's; empty text blocks are refused.
"""

import json
from collections.abc import Mapping, Sequence
from typing import Any

from toolhub.agent.llm.base import LLMRequest, ToolChoice

DEFAULT_MAX_TOKENS = 4096
"""Anthropic requires `max_tokens`; Letta's default for its models."""
CONVERSATION_START = "(conversation start)"
"""The user turn put first when a history opens with the assistant (Letta's opening messages do)."""

Block = dict[str, Any]
Turn = dict[str, Any]


def request_params(request: LLMRequest) -> dict[str, Any]:
    """Keyword arguments for `messages.create` (without `stream`)."""
    system, messages = convert_messages(request.messages)
    params: dict[str, Any] = {
        "model": request.model,
        "max_tokens": request.max_tokens or DEFAULT_MAX_TOKENS,
        "messages": messages,
    }
    if system:
        params["system"] = system
    if request.tools:
        params["tools"] = [convert_tool(tool) for tool in request.tools]
        choice = convert_tool_choice(request.tool_choice, request.parallel_tool_calls)
        if choice is not None:
            params["tool_choice"] = choice
    if request.temperature is not None:
        params["temperature"] = request.temperature
    return params


def convert_tool(tool: Mapping[str, Any]) -> dict[str, Any]:
    function = tool.get("function", tool)
    converted = {
        "name": function["name"],
        "input_schema": function.get("parameters") or {"type": "object", "properties": {}},
    }
    if function.get("description"):
        converted["description"] = function["description"]
    return converted


def convert_tool_choice(choice: ToolChoice | None, parallel: bool | None) -> dict[str, Any] | None:
    """`required` → `any`, a forced function → `tool`; `parallel_tool_calls=False` → `disable_parallel_tool_use`."""
    if choice == "none":
        return {"type": "none"}
    if choice is None and parallel is not False:
        return None
    if choice is None or choice == "auto":
        converted: dict[str, Any] = {"type": "auto"}
    elif choice == "required":
        converted = {"type": "any"}
    else:
        name = choice.get("function", {}).get("name") or choice.get("name")
        converted = {"type": "tool", "name": name}
    if parallel is False:
        converted["disable_parallel_tool_use"] = True
    return converted


def convert_messages(messages: Sequence[Mapping[str, Any]]) -> tuple[str, list[Turn]]:
    """The system prompt (the leading system messages) and the alternating turns."""
    system: list[str] = []
    turns: list[Turn] = []
    for message in messages:
        role = message.get("role")
        content = message.get("content")
        if role in ("system", "developer"):
            if turns:  # a system note mid-conversation (e.g. a summary) stays where it was, as user text
                _add(turns, "user", _text_blocks(_text_of(content)))
            else:
                system.append(_text_of(content))
        elif role == "user":
            _add(turns, "user", _user_blocks(content))
        elif role == "assistant":
            _add(turns, "assistant", _text_blocks(_text_of(content)) + _tool_uses(message.get("tool_calls") or ()))
        elif role == "tool":
            _add(turns, "user", [_tool_result(message)])
        else:
            raise ValueError(f"cannot send a message with role {role!r} to Anthropic")
    if turns and turns[0]["role"] != "user":
        turns.insert(0, {"role": "user", "content": _text_blocks(CONVERSATION_START)})
    return "\n\n".join(part for part in system if part), turns


def _add(turns: list[Turn], role: str, blocks: list[Block]) -> None:
    if not blocks:
        return
    if turns and turns[-1]["role"] == role:
        turns[-1]["content"].extend(blocks)
    else:
        turns.append({"role": role, "content": blocks})


def _text_of(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") for part in content if part.get("type") == "text")


def _text_blocks(text: str) -> list[Block]:
    return [{"type": "text", "text": text}] if text.strip() else []


def _user_blocks(content: Any) -> list[Block]:
    if content is None or isinstance(content, str):
        return _text_blocks(content or "")
    blocks: list[Block] = []
    for part in content:
        if part.get("type") == "text":
            blocks.extend(_text_blocks(part.get("text", "")))
        elif part.get("type") == "image_url":
            blocks.append(_image(part["image_url"]["url"]))
    return blocks


def _image(url: str) -> Block:
    if url.startswith("data:") and ";base64," in url:
        media_type, data = url[len("data:") :].split(";base64,", 1)
        return {"type": "image", "source": {"type": "base64", "media_type": media_type, "data": data}}
    return {"type": "image", "source": {"type": "url", "url": url}}


def _tool_uses(calls: Sequence[Mapping[str, Any]]) -> list[Block]:
    return [
        {"type": "tool_use", "id": call["id"], "name": call["function"]["name"], "input": _input(call["function"])}
        for call in calls
    ]


def _input(function: Mapping[str, Any]) -> dict[str, Any]:
    """Anthropic wants the call's input as an object; arguments the model wrote badly are kept, not dropped."""
    raw = function.get("arguments") or "{}"
    try:
        parsed = json.loads(raw)
    except ValueError:
        return {"arguments": raw}
    return parsed if isinstance(parsed, dict) else {"arguments": raw}


def _tool_result(message: Mapping[str, Any]) -> Block:
    result: Block = {"type": "tool_result", "tool_use_id": message["tool_call_id"]}
    text = _text_of(message.get("content"))
    if text:
        result["content"] = text
    return result
