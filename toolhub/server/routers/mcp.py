"""`/v1/tools/mcp/servers`: Letta's MCP routes, over the bridge's long-lived sessions.

Listings show the shared servers of mcp_config.json and the organization's own (stored) servers, each with
`source` and `status`; secrets (tokens, header values, env values) are masked in every response.
"""

from typing import Any

from fastapi import APIRouter, Body, Request

from toolhub.builtin_tools.base import base_tool_names
from toolhub.errors import ConflictError, ForbiddenError, InvalidInputError, NotFoundError
from toolhub.mcp_bridge.config import StdioServerConfig, masked_config, parse_server_config
from toolhub.mcp_bridge.convert import qualified_name, tool_fields
from toolhub.server.auth import Principal
from toolhub.server.deps import CurrentActor, CurrentPrincipal, Db
from toolhub.server.routers import API_PREFIX
from toolhub.store.repositories.mcp_servers import MCPServerRepository
from toolhub.store.repositories.tools import ToolRepository
from toolhub.tools.mcp_hub import MCPHub, ServerView
from toolhub.tools.model import DEFAULT_RETURN_CHAR_LIMIT, Tool
from toolhub.tools.schema.strict import strict_variant

router = APIRouter(prefix=f"{API_PREFIX}/tools/mcp/servers", tags=["mcp"])


def _hub(request: Request) -> MCPHub:
    return request.app.state.executor.mcp


def _view(view: ServerView) -> dict[str, Any]:
    status = view.status
    return {
        **masked_config(view.config),
        "source": view.source,
        "status": {"state": status.state, "last_error": status.last_error, "tool_count": status.tool_count},
    }


def _listing(hub: MCPHub, organization_id: str) -> list[dict[str, Any]]:
    return [_view(view) for view in hub.servers(organization_id)]


def _mcp_tool_json(tool: Any) -> dict[str, Any]:
    return tool.model_dump(mode="json", by_alias=True)


def _parse(principal: Principal, body: dict[str, Any]):
    """A valid config that this caller may use: only the admin may spawn processes (stdio) on the server."""
    config = parse_server_config(body)
    if isinstance(config, StdioServerConfig) and not principal.is_admin:
        raise ForbiddenError("Only the server admin (password) may add stdio MCP servers")
    return config


@router.get("", operation_id="list_mcp_servers")
async def list_mcp_servers(request: Request, actor: CurrentActor) -> dict[str, Any]:
    return {view["server_name"]: view for view in _listing(_hub(request), actor.organization_id)}


@router.put("", operation_id="add_mcp_server")
async def add_mcp_server(
    request: Request, principal: CurrentPrincipal, actor: CurrentActor, db: Db, body: dict[str, Any] = Body(...)
) -> list[Any]:
    """Store the server and start connecting in the background; returns every server's config."""
    config = _parse(principal, body)
    hub = _hub(request)
    async with db.session() as session:
        await MCPServerRepository(session, actor).create(config.server_name, config.type, config.model_dump(mode="json"))
        await hub.add(actor.organization_id, config)
    return _listing(hub, actor.organization_id)


@router.post("/test", operation_id="test_mcp_server")
async def test_mcp_server(
    request: Request, principal: CurrentPrincipal, _: CurrentActor, body: dict[str, Any] = Body(...)
) -> list[Any]:
    """Connect, list the tools and disconnect, without saving anything."""
    config = _parse(principal, body)
    return [_mcp_tool_json(tool) for tool in await _hub(request).test(config)]


@router.patch("/{mcp_server_name}", operation_id="update_mcp_server")
async def update_mcp_server(
    mcp_server_name: str,
    request: Request,
    principal: CurrentPrincipal,
    actor: CurrentActor,
    db: Db,
    body: dict[str, Any] = Body(...),
) -> dict[str, Any]:
    hub = _hub(request)
    manager, source = hub.locate(actor.organization_id, mcp_server_name)
    if source == "config_file":
        raise InvalidInputError(f"MCP server {mcp_server_name!r} comes from {hub.config_path}; edit that file")
    current = manager.configs()[mcp_server_name].model_dump(mode="json")
    config = _parse(principal, _merged_update(current, body))
    if config.server_name != mcp_server_name:
        raise InvalidInputError("Renaming an MCP server is not supported; delete it and add it under the new name")
    async with db.session() as session:
        servers = MCPServerRepository(session, actor)
        row = await servers.by_name(mcp_server_name)
        row.config = config.model_dump(mode="json")
        row.server_type = config.type
        await servers.touch(row)
        await manager.update(config)
    return _view(next(v for v in hub.servers(actor.organization_id) if v.config.server_name == mcp_server_name))


def _merged_update(current: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """Letta's update bodies: `stdio_config` replaces a stdio server's settings; `token` is an SSE bearer token;
    any other known field replaces the current value."""
    merged = dict(current)
    if isinstance(body.get("stdio_config"), dict):
        merged.update({k: v for k, v in body["stdio_config"].items() if k != "server_name"})
    if body.get("token") is not None:
        merged.update(auth_header="Authorization", auth_token=body["token"])
    for key in ("server_name", "server_url", "auth_header", "auth_token", "custom_headers", "command", "args", "env"):
        if body.get(key) is not None:
            merged[key] = body[key]
    return merged


@router.delete("/{mcp_server_name}", operation_id="delete_mcp_server")
async def delete_mcp_server(mcp_server_name: str, request: Request, actor: CurrentActor, db: Db) -> list[Any]:
    """Remove the server (its session closes); tools registered from it stay and fail clearly until re-added."""
    hub = _hub(request)
    manager, source = hub.locate(actor.organization_id, mcp_server_name)
    if source == "config_file":
        raise InvalidInputError(f"MCP server {mcp_server_name!r} comes from {hub.config_path}; edit that file")
    async with db.session() as session:
        servers = MCPServerRepository(session, actor)
        await servers.delete((await servers.by_name(mcp_server_name)).id)
        await manager.remove(mcp_server_name)
    return _listing(hub, actor.organization_id)


@router.get("/{mcp_server_name}/tools", operation_id="list_mcp_tools_by_server")
async def list_mcp_tools_by_server(mcp_server_name: str, request: Request, actor: CurrentActor) -> list[Any]:
    manager, _ = _hub(request).locate(actor.organization_id, mcp_server_name)
    return [_mcp_tool_json(tool) for tool in await manager.list_tools(mcp_server_name)]


@router.post("/{mcp_server_name}/resync", operation_id="resync_mcp_server_tools")
async def resync_mcp_server(mcp_server_name: str, request: Request, actor: CurrentActor) -> list[Any]:
    """List the server's tools now and refresh the cache (a tool named `resync` is shadowed by this route)."""
    manager, _ = _hub(request).locate(actor.organization_id, mcp_server_name)
    return [_mcp_tool_json(tool) for tool in await manager.resync(mcp_server_name)]


@router.post("/{mcp_server_name}/{mcp_tool_name}", response_model=Tool, operation_id="add_mcp_tool")
async def add_mcp_tool(mcp_server_name: str, mcp_tool_name: str, request: Request, actor: CurrentActor, db: Db) -> Any:
    """Register (or re-register, which re-pins its definition) one of the server's tools as an agent tool.

    When another server's tool, or a non-MCP tool, already has the name, or the name is a base tool's (even one
    not seeded yet: seeding would overwrite the MCP tool, or the MCP tool would stand in for `send_message`), the
    tool is registered under `<server>__<tool>` instead, and still calls the right tool."""
    manager, _ = _hub(request).locate(actor.organization_id, mcp_server_name)
    available = await manager.list_tools(mcp_server_name)
    tool = next((t for t in available if t.name == mcp_tool_name), None)
    if tool is None:
        names = ", ".join(t.name for t in available)
        message = f"Tool {mcp_tool_name} not found in MCP server {mcp_server_name} - available tools: {names}"
        raise NotFoundError({"code": "MCPToolNotFoundError", "message": message, "mcp_tool_name": mcp_tool_name})
    async with db.session() as session:
        tools = ToolRepository(session, actor)
        fields = dict(tool_fields(mcp_server_name, tool))
        if _name_taken(fields["name"], await tools.get_by_name(fields["name"]), mcp_server_name):
            fields = dict(tool_fields(mcp_server_name, tool, name=qualified_name(mcp_server_name, tool.name)))
            if _name_taken(fields["name"], await tools.get_by_name(fields["name"]), mcp_server_name):
                raise ConflictError(
                    f"MCP tool {mcp_tool_name!r} of {mcp_server_name!r} cannot be registered: both its name and "
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


def _name_taken(name: str, existing: Any, server_name: str) -> bool:
    """Whether `name` belongs to something other than this server's tool: a base tool or another tool."""
    if name in base_tool_names():
        return True
    if existing is None:
        return False
    pin = (existing.metadata_ or {}).get("mcp")
    return not isinstance(pin, dict) or pin.get("server_name") != server_name
