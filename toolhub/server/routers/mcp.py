"""`/v1/tools/mcp/servers`: Letta's MCP routes, over the bridge's long-lived sessions.

Listings show the shared servers of mcp_config.json and the organization's own (stored) servers, each with
`source` and `status`; secrets (tokens, header values, env values) are masked in every response.
"""

from typing import Any

from fastapi import APIRouter, Body

from toolhub.mcp_bridge.config import masked_config
from toolhub.server.deps import CurrentActor, CurrentPrincipal, MCPServers
from toolhub.server.listing import KnownQueryOnly
from toolhub.server.routers import API_PREFIX
from toolhub.tools.mcp_hub import ServerView
from toolhub.tools.model import Tool

router = APIRouter(prefix=f"{API_PREFIX}/tools/mcp/servers", tags=["mcp"])


def _view(view: ServerView) -> dict[str, Any]:
    status = view.status
    return {
        **masked_config(view.config),
        "source": view.source,
        "status": {"state": status.state, "last_error": status.last_error, "tool_count": status.tool_count},
    }


def _mcp_tool_json(tool: Any) -> dict[str, Any]:
    return tool.model_dump(mode="json", by_alias=True)


@router.get("", operation_id="list_mcp_servers")
async def list_mcp_servers(actor: CurrentActor, servers: MCPServers) -> dict[str, Any]:
    return {view["server_name"]: view for view in map(_view, servers.servers(actor))}


@router.put("", operation_id="add_mcp_server")
async def add_mcp_server(
    principal: CurrentPrincipal, actor: CurrentActor, servers: MCPServers, body: dict[str, Any] = Body(...)
) -> list[Any]:
    """Store the server and start connecting in the background; returns every server's config."""
    await servers.add(actor, body, is_admin=principal.is_admin)
    return [_view(view) for view in servers.servers(actor)]


@router.post("/test", operation_id="test_mcp_server")
async def test_mcp_server(
    principal: CurrentPrincipal, _: CurrentActor, servers: MCPServers, body: dict[str, Any] = Body(...)
) -> list[Any]:
    """Connect, list the tools and disconnect, without saving anything."""
    return [_mcp_tool_json(tool) for tool in await servers.test(body, is_admin=principal.is_admin)]


@router.patch("/{mcp_server_name}", operation_id="update_mcp_server")
async def update_mcp_server(
    mcp_server_name: str,
    principal: CurrentPrincipal,
    actor: CurrentActor,
    servers: MCPServers,
    body: dict[str, Any] = Body(...),
) -> dict[str, Any]:
    return _view(await servers.update(actor, mcp_server_name, body, is_admin=principal.is_admin))


@router.delete("/{mcp_server_name}", operation_id="delete_mcp_server")
async def delete_mcp_server(mcp_server_name: str, actor: CurrentActor, servers: MCPServers) -> list[Any]:
    """Remove the server (its session closes); tools registered from it stay and fail clearly until re-added."""
    await servers.delete(actor, mcp_server_name)
    return [_view(view) for view in servers.servers(actor)]


@router.get("/{mcp_server_name}/tools", operation_id="list_mcp_tools_by_server", dependencies=[KnownQueryOnly])
async def list_mcp_tools_by_server(mcp_server_name: str, actor: CurrentActor, servers: MCPServers) -> list[Any]:
    """The server's live tool list, whole: MCP tools are not rows, so there are no cursors (and no filters)."""
    return [_mcp_tool_json(tool) for tool in await servers.tools(actor, mcp_server_name)]


@router.post("/{mcp_server_name}/resync", operation_id="resync_mcp_server_tools")
async def resync_mcp_server(mcp_server_name: str, actor: CurrentActor, servers: MCPServers) -> list[Any]:
    """List the server's tools now and refresh the cache (a tool named `resync` is shadowed by this route)."""
    return [_mcp_tool_json(tool) for tool in await servers.resync(actor, mcp_server_name)]


@router.post("/{mcp_server_name}/{mcp_tool_name}", response_model=Tool, operation_id="add_mcp_tool")
async def add_mcp_tool(mcp_server_name: str, mcp_tool_name: str, actor: CurrentActor, servers: MCPServers) -> Any:
    """Register (or re-register, which re-pins its definition) one of the server's tools as an agent tool; see
    `MCPServerService.register_tool` for how name clashes are resolved."""
    return await servers.register_tool(actor, mcp_server_name, mcp_tool_name)
