"""MCP servers an organization adds through the API, and registering their tools as agent tools.

A server is stored, then connected in the background by the hub. Servers of `mcp_config.json` are shared and
read-only here: they are edited in that file.
"""

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from toolhub.builtin_tools.base import base_tool_names
from toolhub.errors import (
    ConflictError,
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
)
from toolhub.mcp_bridge.config import (
    MCPServerConfig,
    StdioServerConfig,
    parse_server_config,
)
from toolhub.mcp_bridge.convert import qualified_name, tool_fields
from toolhub.mcp_bridge.manager import MCPManager
from toolhub.store.db import Database
from toolhub.store.models import Tool as ToolRow
from toolhub.store.repositories import Actor
from toolhub.store.repositories.mcp_servers import MCPServerRepository
from toolhub.store.repositories.tools import ToolRepository
from toolhub.tools.mcp_hub import MCPHub, ServerView
from toolhub.tools.model import DEFAULT_RETURN_CHAR_LIMIT
from toolhub.tools.schema.strict import strict_variant

if TYPE_CHECKING:  # the SDK is imported lazily by the bridge
    from mcp_types import Tool as MCPTool

_UPDATABLE = ("server_name", "server_url", "auth_header", "auth_token", "custom_headers", "command", "args", "env")


class MCPServerService:
    def __init__(self, db: Database, hub: MCPHub) -> None:
        self._db = db
        self._hub = hub

    def servers(self, actor: Actor) -> list[ServerView]:
        """The shared servers and the organization's own, by name."""
        return self._hub.servers(actor.organization_id)

    def server(self, actor: Actor, name: str) -> ServerView:
        """Raises MCPServerNotFoundError."""
        self._hub.locate(actor.organization_id, name)
        return next(view for view in self.servers(actor) if view.config.server_name == name)

    async def add(self, actor: Actor, body: Mapping[str, Any], *, is_admin: bool) -> None:
        """Store the server and start connecting in the background."""
        config = _parse(body, is_admin=is_admin)
        async with self._db.session() as session:
            await MCPServerRepository(session, actor).create(
                config.server_name, config.type, config.model_dump(mode="json")
            )
            await self._hub.add(actor.organization_id, config)

    async def test(self, body: Mapping[str, Any], *, is_admin: bool) -> list["MCPTool"]:
        """Connect, list the tools and disconnect, without saving anything."""
        return await self._hub.test(_parse(body, is_admin=is_admin))

    async def update(self, actor: Actor, name: str, body: Mapping[str, Any], *, is_admin: bool) -> ServerView:
        """Apply Letta's update body to an API-added server (renaming is refused) and reconnect it."""
        manager = self._own(actor, name)
        current = manager.configs()[name].model_dump(mode="json")
        config = _parse(_merged_update(current, body), is_admin=is_admin)
        if config.server_name != name:
            raise InvalidInputError("Renaming an MCP server is not supported; delete it and add it under the new name")
        async with self._db.session() as session:
            servers = MCPServerRepository(session, actor)
            row = await servers.by_name(name)
            row.config = config.model_dump(mode="json")
            row.server_type = config.type
            await servers.touch(row)
            await manager.update(config)
        return self.server(actor, name)

    async def delete(self, actor: Actor, name: str) -> None:
        """Remove the server (its session closes); tools registered from it stay and fail clearly until re-added."""
        manager = self._own(actor, name)
        async with self._db.session() as session:
            servers = MCPServerRepository(session, actor)
            await servers.delete((await servers.by_name(name)).id)
            await manager.remove(name)

    async def tools(self, actor: Actor, name: str) -> list["MCPTool"]:
        manager, _ = self._hub.locate(actor.organization_id, name)
        return await manager.list_tools(name)

    async def resync(self, actor: Actor, name: str) -> list["MCPTool"]:
        """List the server's tools now and refresh the cache."""
        manager, _ = self._hub.locate(actor.organization_id, name)
        return await manager.resync(name)

    async def register_tool(self, actor: Actor, server_name: str, tool_name: str) -> ToolRow:
        """Register (or re-register, which re-pins its definition) one of the server's tools as an agent tool.

        When another server's tool, or a non-MCP tool, already has the name, or the name is a base tool's (even one
        not seeded yet: seeding would overwrite the MCP tool, or the MCP tool would stand in for `send_message`),
        the tool is registered under `<server>__<tool>` instead, and still calls the right tool.

        Raises:
            NotFoundError: the server has no such tool (Letta's `MCPToolNotFoundError` body).
            ConflictError: both names belong to other tools.
        """
        available = await self.tools(actor, server_name)
        tool = next((t for t in available if t.name == tool_name), None)
        if tool is None:
            names = ", ".join(t.name for t in available)
            message = f"Tool {tool_name} not found in MCP server {server_name} - available tools: {names}"
            raise NotFoundError({"code": "MCPToolNotFoundError", "message": message, "mcp_tool_name": tool_name})
        async with self._db.session() as session:
            tools = ToolRepository(session, actor)
            fields = dict(tool_fields(server_name, tool))
            if _name_taken(fields["name"], await tools.get_by_name(fields["name"]), server_name):
                fields = dict(tool_fields(server_name, tool, name=qualified_name(server_name, tool.name)))
                if _name_taken(fields["name"], await tools.get_by_name(fields["name"]), server_name):
                    raise ConflictError(
                        f"MCP tool {tool_name!r} of {server_name!r} cannot be registered: both its name and "
                        f"{fields['name']!r} belong to other tools; rename or delete one of those first"
                    )
            schema = {**fields["json_schema"], "name": fields["name"]}
            strict, health = strict_variant(schema)
            return await tools.upsert(
                **{**fields, "json_schema": schema},
                strict_json_schema=strict,
                schema_health=health,
                source_type="python",
                return_char_limit=DEFAULT_RETURN_CHAR_LIMIT,
            )

    def _own(self, actor: Actor, name: str) -> MCPManager:
        """The manager of a server the organization added; shared servers are edited in their file."""
        manager, source = self._hub.locate(actor.organization_id, name)
        if source == "config_file":
            raise InvalidInputError(f"MCP server {name!r} comes from {self._hub.config_path}; edit that file")
        return manager


def _parse(body: Mapping[str, Any], *, is_admin: bool) -> MCPServerConfig:
    """A valid config that this caller may use: only the admin may spawn processes (stdio) on the server."""
    config = parse_server_config(dict(body))
    if isinstance(config, StdioServerConfig) and not is_admin:
        raise ForbiddenError("Only the server admin (password) may add stdio MCP servers")
    return config


def _merged_update(current: dict[str, Any], body: Mapping[str, Any]) -> dict[str, Any]:
    """Letta's update bodies: `stdio_config` replaces a stdio server's settings; `token` is an SSE bearer token;
    any other known field replaces the current value."""
    merged = dict(current)
    if isinstance(body.get("stdio_config"), dict):
        merged.update({k: v for k, v in body["stdio_config"].items() if k != "server_name"})
    if body.get("token") is not None:
        merged.update(auth_header="Authorization", auth_token=body["token"])
    for key in _UPDATABLE:
        if body.get(key) is not None:
            merged[key] = body[key]
    return merged


def _name_taken(name: str, existing: ToolRow | None, server_name: str) -> bool:
    """Whether `name` belongs to something other than this server's tool: a base tool or another tool."""
    if name in base_tool_names():
        return True
    if existing is None:
        return False
    pin = (existing.metadata_ or {}).get("mcp")
    return not isinstance(pin, dict) or pin.get("server_name") != server_name
