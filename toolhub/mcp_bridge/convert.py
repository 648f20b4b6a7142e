"""MCP tool → toolhub tool fields: a schema model providers accept, a fingerprint to pin it, a safe name.

`request_heartbeat` is not stored: the agent loop adds it when it builds a request.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypedDict

from toolhub.mcp_bridge.errors import MCPSchemaError

if TYPE_CHECKING:
    from mcp_types import Tool

TOOL_TYPE = "external_mcp"
MAX_NAME_LENGTH = 64
MAX_SCHEMA_NODES = 10_000
"""Schemas come from third-party servers: inlining `$ref` stops here instead of exploding."""

_VALID_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_INVALID_NAME_CHARS = re.compile(r"[^a-zA-Z0-9_-]")
_SCHEMA_MAPS = frozenset({"properties", "patternProperties", "dependentSchemas"})
_DATA_KEYWORDS = frozenset({"enum", "const", "default", "examples", "required"})
_DEFINITION_KEYS = ("$defs", "definitions")


class MCPToolFields(TypedDict):
    name: str
    description: str
    tool_type: str
    tags: list[str]
    metadata_: dict[str, Any]
    json_schema: dict[str, Any]


def tool_fields(server_name: str, tool: Tool, *, name: str | None = None) -> MCPToolFields:
    """The fields of a toolhub tool that calls `tool` on `server_name`.

    `name` overrides the tool's own name, e.g. with `qualified_name(...)` when another server has a tool of the
    same name; `metadata_["mcp"]["tool_name"]` keeps the name to call on the server.

    Raises:
        MCPSchemaError: the input schema is too large to inline.
    """
    tool_name = name or (tool.name if _VALID_NAME.fullmatch(tool.name) else _safe_name(tool.name))
    description = tool.description or ""
    return {
        "name": tool_name,
        "description": description,
        "tool_type": TOOL_TYPE,
        "tags": [f"mcp:{server_name}"],
        "metadata_": {"mcp": {"server_name": server_name, "tool_name": tool.name, "fingerprint": fingerprint(tool)}},
        "json_schema": {
            "name": tool_name,
            "description": description,
            "parameters": provider_parameters(tool.input_schema),
        },
    }


def fingerprint(tool: Tool) -> str:
    """sha256 of the canonical JSON of what the model is shown: name, description, inputSchema, annotations."""
    annotations = (
        tool.annotations.model_dump(mode="json", by_alias=True, exclude_none=True) if tool.annotations else None
    )
    payload = {
        "name": tool.name,
        "description": tool.description,
        "inputSchema": tool.input_schema,
        "annotations": annotations,
    }
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def qualified_name(server_name: str, tool_name: str) -> str:
    """`<server>__<tool>`, valid for OpenAI (`^[a-zA-Z0-9_-]{1,64}$`), deterministic, distinct for distinct pairs."""
    return _safe_name(f"{server_name}__{tool_name}")


def provider_parameters(input_schema: Mapping[str, Any]) -> dict[str, Any]:
    """The input schema with `$ref` inlined and `$defs` dropped, `type: object`, `properties` and `required` set.

    The MCP schema is not modified. A recursive reference is left unconstrained (`{}`) where it recurs.

    Raises:
        MCPSchemaError: more than `MAX_SCHEMA_NODES` nodes after inlining.
    """
    parameters = _Inliner(input_schema).schema(input_schema, ())
    for key in ("$schema", "$id"):
        parameters.pop(key, None)
    parameters["type"] = "object"
    properties = parameters.get("properties")
    if not isinstance(properties, dict):
        properties = parameters["properties"] = {}
    required = parameters.get("required")
    parameters["required"] = [r for r in required if r in properties] if isinstance(required, list) else []
    return parameters


def _safe_name(raw: str) -> str:
    """`raw` if valid; otherwise its invalid characters replaced and a short hash of `raw` appended, within 64."""
    if _VALID_NAME.fullmatch(raw):
        return raw
    digest = hashlib.sha256(raw.encode()).hexdigest()[:8]
    cleaned = _INVALID_NAME_CHARS.sub("_", raw)[: MAX_NAME_LENGTH - len(digest) - 1]
    return f"{cleaned}_{digest}"


class _Inliner:
    def __init__(self, root: Mapping[str, Any]) -> None:
        self._root = root
        self._nodes = 0

    def schema(self, node: Any, refs_in_progress: tuple[str, ...]) -> Any:
        self._nodes += 1
        if self._nodes > MAX_SCHEMA_NODES:
            raise MCPSchemaError(
                f"Tool input schema is too large (more than {MAX_SCHEMA_NODES} nodes once $ref is inlined)"
            )
        if not isinstance(node, Mapping):
            return copy.deepcopy(node)
        ref = node.get("$ref")
        if isinstance(ref, str):
            target = {} if ref in refs_in_progress else self.schema(self._resolve(ref), (*refs_in_progress, ref))
            siblings = {key: value for key, value in node.items() if key != "$ref"}
            return {**target, **self.schema(siblings, refs_in_progress)}
        result: dict[str, Any] = {}
        for key, value in node.items():
            if key in _DEFINITION_KEYS:
                continue
            if key in _DATA_KEYWORDS:
                result[key] = copy.deepcopy(value)
            elif key in _SCHEMA_MAPS and isinstance(value, Mapping):
                result[key] = {name: self.schema(sub, refs_in_progress) for name, sub in value.items()}
            elif isinstance(value, list):
                result[key] = [self.schema(item, refs_in_progress) for item in value]
            else:
                result[key] = self.schema(value, refs_in_progress)
        return result

    def _resolve(self, ref: str) -> Any:
        """A local JSON pointer (`#/$defs/X`); anything else resolves to `{}` (unconstrained)."""
        if not ref.startswith("#"):
            return {}
        node: Any = self._root
        for part in filter(None, ref[1:].split("/")):
            part = part.replace("~1", "/").replace("~0", "~")
            if isinstance(node, Mapping) and part in node:
                node = node[part]
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                return {}
        return node
