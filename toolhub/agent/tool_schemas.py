"""The tool list the model is offered, as Letta sends it: each tool's JSON schema (its strict variant where the
provider takes strict schemas), with the loop's own arguments added — the inner-thoughts argument first where the
agent type thinks in its calls, and `request_heartbeat` on every tool but `send_message` in the heartbeat loops."""

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

INNER_THOUGHTS = "inner_thoughts"
"""Letta 0.8's name for the reasoning argument (`memgpt_agent`)."""
THINKING = "thinking"
"""Letta 0.16's name for it (`memgpt_v2_agent`)."""
THOUGHT_KEYS = frozenset({INNER_THOUGHTS, THINKING})
HEARTBEAT = "request_heartbeat"
NO_HEARTBEAT_TOOLS = frozenset({"send_message"})

THOUGHTS_SCHEMA = {"type": "string", "description": "Deep inner monologue private to you only."}
HEARTBEAT_SCHEMA = {
    "type": "boolean",
    "description": "Request an immediate heartbeat after function execution. Set to `True` if you want to send a "
    "follow-up message or run a follow-up function.",
}


@dataclass(frozen=True, kw_only=True)
class OfferedTool:
    """A tool's schemas as stored: the function schema and, when it has one, its strict variant."""

    name: str
    json_schema: Mapping[str, Any]
    strict_json_schema: Mapping[str, Any] | None = None


def llm_tools(
    tools: Iterable[OfferedTool], *, thoughts_key: str | None, heartbeats: bool, strict: bool
) -> list[dict[str, Any]]:
    """OpenAI function tools for the model."""
    return [_function(tool, thoughts_key=thoughts_key, heartbeats=heartbeats, strict=strict) for tool in tools]


def _function(tool: OfferedTool, *, thoughts_key: str | None, heartbeats: bool, strict: bool) -> dict[str, Any]:
    use_strict = strict and tool.strict_json_schema is not None
    schema = copy.deepcopy(dict(tool.strict_json_schema if use_strict else tool.json_schema))
    parameters = schema.get("parameters") or {"type": "object", "properties": {}, "required": []}
    properties = dict(parameters.get("properties") or {})
    required = [name for name in parameters.get("required") or [] if name in properties]
    if thoughts_key is not None:
        properties = {thoughts_key: THOUGHTS_SCHEMA, **properties}
        required = [thoughts_key, *required]
    if heartbeats and tool.name not in NO_HEARTBEAT_TOOLS:
        properties[HEARTBEAT] = HEARTBEAT_SCHEMA
        required.append(HEARTBEAT)
    parameters = {**parameters, "type": "object", "properties": properties, "required": required}
    function: dict[str, Any] = {
        "name": tool.name,
        "description": schema.get("description") or "",
        "parameters": parameters,
    }
    if use_strict:
        parameters["additionalProperties"] = False
        function["strict"] = True
    return {"type": "function", "function": function}


def client_function(name: str, description: str | None, parameters: Mapping[str, Any] | None) -> dict[str, Any]:
    """A client-side tool as the model is offered it (its schema as the client sent it, never strict)."""
    schema = dict(parameters) if parameters else {"type": "object", "properties": {}, "required": []}
    return {"type": "function", "function": {"name": name, "description": description or "", "parameters": schema}}
