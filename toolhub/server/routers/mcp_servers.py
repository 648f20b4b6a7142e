"""`/v1/mcp-servers`: Letta 1.x's MCP routes, by id, over the same servers and tools as `/v1/tools/mcp/servers`.

A server is answered flattened (`mcp_server_type`, its masked config fields, `id`, `server_name`) plus toolhub's
`source` and `status`. Its tools are the synced `external_mcp` tools, read from the database.
"""

from typing import Any

from fastapi import APIRouter, Response

from toolhub.mcp_bridge.config import masked_config
from toolhub.errors import NotFoundError
from toolhub.server.deps import CurrentActor, CurrentPrincipal, MCPServers
from toolhub.server.routers import API_PREFIX
from toolhub.server.schemas.mcp_servers import (
    MCPRefreshResult,
    MCPServerCreate,
    MCPServerUpdate,
    MCPToolRunBody,
    MCPToolRunResult,
    config_body,
)
from toolhub.services.mcp_servers import MCPServerService
from toolhub.store.repositories import Actor
from toolhub.tools.mcp_hub import ServerView
from toolhub.tools.model import Tool

router = APIRouter(prefix=f"{API_PREFIX}/mcp-servers", tags=["mcp-servers"])


def _server_json(view: ServerView, server_id: str) -> dict[str, Any]:
    config = masked_config(view.config)
    status = view.status
    return {
        "mcp_server_type": config.pop("type"),
        **config,
        "id": server_id,
        "source": view.source,
        "status": {"state": status.state, "last_error": status.last_error, "tool_count": status.tool_count},
    }


async def _answer(servers: MCPServerService, actor: Actor, name: str, **extra: Any) -> dict[str, Any]:
    return {**_server_json(servers.server(actor, name), (await servers.ids(actor))[name]), **extra}


@router.post("", operation_id="mcp_servers_create")
async def create_mcp_server(
    body: MCPServerCreate, principal: CurrentPrincipal, actor: CurrentActor, servers: MCPServers
) -> dict[str, Any]:
    """Store and connect the server and register its tools; `failed_tools` names tools that could not be."""
    report = await servers.create(actor, body.bridge_body(), is_admin=principal.is_admin)
    return await _answer(servers, actor, body.server_name, failed_tools=report.failed)


@router.get("", operation_id="mcp_servers_list")
async def list_mcp_servers(actor: CurrentActor, servers: MCPServers) -> list[dict[str, Any]]:
    ids = await servers.ids(actor)
    return [_server_json(view, ids[view.config.server_name]) for view in servers.servers(actor)]


@router.get("/{mcp_server_id}", operation_id="mcp_servers_retrieve")
async def retrieve_mcp_server(mcp_server_id: str, actor: CurrentActor, servers: MCPServers) -> dict[str, Any]:
    return await _answer(servers, actor, await servers.name_of(actor, mcp_server_id))


@router.patch("/{mcp_server_id}", operation_id="mcp_servers_update")
async def update_mcp_server(
    mcp_server_id: str, body: MCPServerUpdate, principal: CurrentPrincipal, actor: CurrentActor, servers: MCPServers
) -> dict[str, Any]:
    """Replace the server's config (renaming is refused) and reconnect it; the id is kept."""
    name = await servers.name_of(actor, mcp_server_id)
    await servers.update(actor, name, config_body(body.server_name or name, body.config), is_admin=principal.is_admin)
    return await _answer(servers, actor, name)


@router.delete("/{mcp_server_id}", status_code=204, operation_id="mcp_servers_delete")
async def delete_mcp_server(mcp_server_id: str, actor: CurrentActor, servers: MCPServers) -> Response:
    """Delete the server, its synced tools and their attachments to agents."""
    await servers.delete_with_tools(actor, await servers.name_of(actor, mcp_server_id))
    return Response(status_code=204)


@router.get("/{mcp_server_id}/tools", response_model=list[Tool], operation_id="mcp_servers_tools_list")
async def list_mcp_server_tools(mcp_server_id: str, actor: CurrentActor, servers: MCPServers) -> Any:
    """The synced tools, from the database; an unknown server has none (Letta answers `[]`, not 404)."""
    try:
        name = await servers.name_of(actor, mcp_server_id)
    except NotFoundError:
        return []
    return await servers.synced_tools(actor, name)


@router.get("/{mcp_server_id}/tools/{tool_id}", response_model=Tool, operation_id="mcp_servers_tools_retrieve")
async def retrieve_mcp_server_tool(mcp_server_id: str, tool_id: str, actor: CurrentActor, servers: MCPServers) -> Any:
    name = await servers.name_of(actor, mcp_server_id)
    tool = next((row for row in await servers.synced_tools(actor, name) if row.id == tool_id), None)
    if tool is None:
        raise NotFoundError(f"Tool with id {tool_id} not found in MCP server {name!r}")
    return tool


@router.post(
    "/{mcp_server_id}/tools/{tool_id}/run", response_model=MCPToolRunResult, operation_id="mcp_servers_tools_run"
)
async def run_mcp_server_tool(
    mcp_server_id: str, tool_id: str, body: MCPToolRunBody, actor: CurrentActor, servers: MCPServers
) -> MCPToolRunResult:
    result = await servers.run_synced(actor, await servers.name_of(actor, mcp_server_id), tool_id, body.args)
    return MCPToolRunResult(status=result.status, func_return=result.text)


@router.patch("/{mcp_server_id}/refresh", response_model=MCPRefreshResult, operation_id="mcp_servers_refresh")
async def refresh_mcp_server(
    mcp_server_id: str, actor: CurrentActor, servers: MCPServers, accept_changes: bool = True
) -> MCPRefreshResult:
    """Sync the server's tools now. A changed tool is re-pinned only with `accept_changes` (the default, as in
    Letta); with `accept_changes=false` it keeps its pin and its calls stay refused until accepted."""
    report = await servers.sync(actor, await servers.name_of(actor, mcp_server_id), accept=accept_changes)
    return MCPRefreshResult(added=report.added, updated=report.updated, deleted=report.deleted, failed=report.failed)
