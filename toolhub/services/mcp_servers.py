"""MCP servers an organization adds through the API, and registering their tools as agent tools.

A server is stored, then connected in the background by the hub. Servers of `mcp_config.json` are shared and
read-only here: they are edited in that file; their ids derive from their names, so restarts keep them.

Synced tools (Letta 1.x): a server's tools are registered as `external_mcp` tools when it is created and on
refresh; a tool the server no longer lists is marked `unavailable` in its pin rather than deleted, since agents
may use it, and only deleting the server removes its tools (and detaches them from agents).
"""

import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete as sql_delete

from toolhub.builtin_tools.base import base_tool_names
from toolhub.errors import (
    ConflictError,
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
)
from toolhub.mcp_bridge.config import (
    MASK,
    MCPServerConfig,
    StdioServerConfig,
    parse_server_config,
)
from toolhub.mcp_bridge.convert import TOOL_TYPE, fingerprint, qualified_name, tool_fields
from toolhub.mcp_bridge.errors import MCPBridgeError, MCPSchemaError
from toolhub.mcp_bridge.manager import MCPManager
from toolhub.mcp_bridge.results import MCPCallResult
from toolhub.services.changes import ToolChanges
from toolhub.store.db import Database
from toolhub.store.models import AgentTool
from toolhub.store.models import Tool as ToolRow
from toolhub.store.repositories import Actor
from toolhub.store.repositories.mcp_servers import MCPServerRepository
from toolhub.store.repositories.tools import ToolRepository
from toolhub.tools.mcp_hub import MCPHub, ServerView
from toolhub.tools.model import DEFAULT_RETURN_CHAR_LIMIT
from toolhub.tools.schema.strict import strict_variant
from toolhub.tools.spec import MCPTarget

if TYPE_CHECKING:  # the SDK is imported lazily by the bridge
    from mcp_types import Tool as MCPTool

logger = logging.getLogger(__name__)

CONFIG_FILE_ID_NAMESPACE = uuid.UUID("5d0c3f1e-8a43-4f0e-9a51-6b1f0f1c7a11")
"""Ids of `mcp_config.json` servers are uuid5(namespace, name): stable across restarts, never stored."""

_UPDATABLE = ("server_name", "server_url", "auth_header", "auth_token", "custom_headers", "command", "args", "env")


@dataclass
class SyncReport:
    """Tool names by what a sync did; `failed` are tools that could not be converted or named."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def config_file_server_id(server_name: str) -> str:
    return f"mcp_server-{uuid.uuid5(CONFIG_FILE_ID_NAMESPACE, server_name)}"


class MCPServerService:
    def __init__(self, db: Database, hub: MCPHub, changes: ToolChanges) -> None:
        self._db = db
        self._hub = hub
        self._changes = changes

    async def ids(self, actor: Actor) -> dict[str, str]:
        """Server name -> id, for every server the organization sees."""
        async with self._db.session() as session:
            rows = await MCPServerRepository(session, actor).list()
        stored = {row.server_name: row.id for row in rows}
        return {
            view.config.server_name: stored.get(view.config.server_name, config_file_server_id(view.config.server_name))
            for view in self.servers(actor)
        }

    async def name_of(self, actor: Actor, server_id: str) -> str:
        """Raises NotFoundError (Letta's 404) for an id the organization does not see."""
        for name, known_id in (await self.ids(actor)).items():
            if known_id == server_id:
                return name
        raise NotFoundError(f"MCP server with id {server_id} not found")

    async def create(self, actor: Actor, body: Mapping[str, Any], *, is_admin: bool) -> SyncReport:
        """Store and connect the server, then register its tools at once (Letta 1.x's create).

        A server that cannot be listed yet is kept; its tools are registered by a later refresh."""
        await self.add(actor, body, is_admin=is_admin)
        try:
            return await self.sync(actor, body["server_name"], accept=True)
        except MCPBridgeError as exc:
            logger.warning("MCP server %r created but not synced: %s", body["server_name"], exc)
            return SyncReport()

    async def synced_tools(self, actor: Actor, name: str) -> list[ToolRow]:
        """The tools registered from the server, read from the database (no connection)."""
        async with self._db.session() as session:
            return await _owned_rows(ToolRepository(session, actor), name)

    async def sync(self, actor: Actor, name: str, *, accept: bool) -> SyncReport:
        """Register the server's tools from a fresh listing: new ones are added; changed ones are re-pinned only
        when `accept` (otherwise the new fingerprint is noted as `pending_fingerprint`, and calls keep being refused
        until accepted); vanished ones are marked unavailable; one that cannot be converted is reported by name."""
        listed = await self.resync(actor, name)
        report = SyncReport()
        async with self._db.session() as session:
            tools = ToolRepository(session, actor)
            owned = {(row.metadata_ or {})["mcp"]["tool_name"]: row for row in await _owned_rows(tools, name)}
            for tool in listed:
                row = owned.pop(tool.name, None)
                try:
                    if row is None:
                        report.added.append((await _register(tools, name, tool)).name)
                    elif await _resync_row(tools, row, name, tool, accept=accept):
                        report.updated.append(row.name)
                except (MCPSchemaError, ConflictError) as exc:
                    logger.warning("MCP tool %r of %r not registered: %s", tool.name, name, exc)
                    report.failed.append(tool.name)
            for row in owned.values():
                pin = row.metadata_["mcp"]
                if not pin.get("unavailable"):
                    row.metadata_ = {**row.metadata_, "mcp": {**pin, "unavailable": True}}
                    await tools.touch(row)
                    report.deleted.append(row.name)
        await self._changes.publish(actor.organization_id)
        return report

    async def run_synced(self, actor: Actor, name: str, tool_id: str, args: Mapping[str, Any]) -> MCPCallResult:
        """Call one of the server's synced tools, pinned like an agent's call."""
        async with self._db.session() as session:
            row = await ToolRepository(session, actor).get(tool_id)
        pin = (row.metadata_ or {}).get("mcp") or {}
        if row.tool_type != TOOL_TYPE or pin.get("server_name") != name:
            raise NotFoundError(f"Tool with id {tool_id} is not a tool of MCP server {name!r}")
        target = MCPTarget(server_name=name, tool_name=pin["tool_name"], fingerprint=pin.get("fingerprint"))
        return await self._hub.call(actor.organization_id, target, args)

    async def delete_with_tools(self, actor: Actor, name: str) -> None:
        """Delete the server, its synced tools, and their attachments to agents."""
        self._own(actor, name)
        async with self._db.session() as session:
            tools = ToolRepository(session, actor)
            ids = [row.id for row in await _owned_rows(tools, name)]
            if ids:
                await session.execute(sql_delete(AgentTool).where(AgentTool.tool_id.in_(ids)))
                await session.execute(sql_delete(ToolRow).where(ToolRow.id.in_(ids)))
        await self.delete(actor, name)
        await self._changes.publish(actor.organization_id)

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
            row = await _register(ToolRepository(session, actor), server_name, tool)
        await self._changes.publish(actor.organization_id)
        return row

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
    `type` (1.x bodies) naming another transport starts from a blank config; any other known field replaces the
    current value. A masked value (`****`, as the server answers secrets) keeps the current secret."""
    merged = dict(current)
    if body.get("type") is not None and body["type"] != current.get("type"):
        merged = {"server_name": current["server_name"], "type": body["type"]}
    if isinstance(body.get("stdio_config"), dict):
        merged.update({k: v for k, v in body["stdio_config"].items() if k != "server_name"})
    if body.get("token") is not None:
        merged.update(auth_header="Authorization", auth_token=body["token"])
    for key in _UPDATABLE:
        if body.get(key) is not None:
            merged[key] = _unmasked(body[key], current.get(key))
    return merged


def _unmasked(value: Any, current: Any) -> Any:
    """`value` with masked entries replaced by the current secret they stand for."""
    if value == MASK:
        return current
    if isinstance(value, dict) and isinstance(current, dict):
        return {key: current.get(key, item) if item == MASK else item for key, item in value.items()}
    return value


def _name_taken(name: str, existing: ToolRow | None, server_name: str) -> bool:
    """Whether `name` belongs to something other than this server's tool: a base tool or another tool."""
    if name in base_tool_names():
        return True
    if existing is None:
        return False
    pin = (existing.metadata_ or {}).get("mcp")
    return not isinstance(pin, dict) or pin.get("server_name") != server_name


async def _owned_rows(tools: ToolRepository, server_name: str) -> list[ToolRow]:
    rows = await tools.list(ToolRow.tool_type == TOOL_TYPE)
    return [row for row in rows if ((row.metadata_ or {}).get("mcp") or {}).get("server_name") == server_name]


async def _register(tools: ToolRepository, server_name: str, tool: "MCPTool") -> ToolRow:
    """Register (or re-pin) one MCP tool under its own name, or `<server>__<tool>` when that is taken.

    Raises:
        MCPSchemaError: the tool cannot be converted.
        ConflictError: both names belong to other tools.
    """
    fields = dict(tool_fields(server_name, tool))
    if _name_taken(fields["name"], await tools.get_by_name(fields["name"]), server_name):
        fields = dict(tool_fields(server_name, tool, name=qualified_name(server_name, tool.name)))
        if _name_taken(fields["name"], await tools.get_by_name(fields["name"]), server_name):
            raise ConflictError(
                f"MCP tool {tool.name!r} of {server_name!r} cannot be registered: both its name and "
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


async def _resync_row(tools: ToolRepository, row: ToolRow, server_name: str, tool: "MCPTool", *, accept: bool) -> bool:
    """Bring a synced tool in line with the server's listing; whether its definition was re-pinned."""
    pin = row.metadata_["mcp"]
    latest = fingerprint(tool)
    if pin.get("fingerprint") == latest:
        if pin.get("unavailable") or pin.get("pending_fingerprint"):
            kept = {k: v for k, v in pin.items() if k not in ("unavailable", "pending_fingerprint")}
            row.metadata_ = {**row.metadata_, "mcp": kept}
            await tools.touch(row)
        return False
    if not accept:
        if pin.get("pending_fingerprint") != latest or pin.get("unavailable"):
            kept = {k: v for k, v in pin.items() if k != "unavailable"}
            row.metadata_ = {**row.metadata_, "mcp": {**kept, "pending_fingerprint": latest}}
            await tools.touch(row)
        return False
    fields = dict(tool_fields(server_name, tool, name=row.name))
    schema = {**fields["json_schema"], "name": row.name}
    strict, health = strict_variant(schema)
    await tools.update(
        row, **{**fields, "json_schema": schema}, strict_json_schema=strict, schema_health=health
    )
    return True
