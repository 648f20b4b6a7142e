"""A stored tool as an MCP client sees it (`tools/list`), and a digest of everything a caller sees, so that
`list_changed` goes only to clients whose list really changed. Free of the SDK: plain dicts in the wire shape."""

import hashlib
import json
from collections.abc import Iterable
from typing import Any

from toolhub.server.mcp_endpoint.caller import Caller
from toolhub.services.mcp_profiles import MCPProfileService
from toolhub.store.models import Tool as ToolRow

EMPTY_INPUT = {"type": "object", "properties": {}}


def mcp_tool(row: ToolRow) -> dict[str, Any]:
    """`name`, `description` and `inputSchema` from the tool's OpenAI-style `json_schema` (its `parameters`);
    a schema that is not an object at the root (rows written by old clients) is served as taking no arguments."""
    schema = row.json_schema if isinstance(row.json_schema, dict) else {}
    parameters = schema.get("parameters")
    if not isinstance(parameters, dict) or parameters.get("type") != "object":
        parameters = EMPTY_INPUT
    description = row.description or schema.get("description")
    tool: dict[str, Any] = {"name": row.name, "inputSchema": parameters}
    if isinstance(description, str) and description:
        tool["description"] = description
    return tool


def digest(rows: Iterable[ToolRow]) -> str:
    """Changes whenever a served tool appears, goes, or changes its name, description or schema."""
    hasher = hashlib.sha256()
    for tool in sorted((mcp_tool(row) for row in rows), key=lambda tool: tool["name"]):
        hasher.update(json.dumps(tool, sort_keys=True, separators=(",", ":"), default=str).encode())
        hasher.update(b"\n")
    return hasher.hexdigest()


async def view_digest(profiles: MCPProfileService, caller: Caller) -> str:
    """The digest of what `caller` sees now, through its profile as it is now (renamed, retagged or deleted)."""
    profile = caller.profile
    if profile is not None:
        profile = await profiles.scope_by_id(caller.actor, profile.id)
        if profile is None:
            return digest(())
    return digest(await profiles.served_tools(caller.actor, profile))
