"""MCP servers added through the API, for one organization."""

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from toolhub.errors import ConflictError, NotFoundError
from toolhub.store.ids import new_id
from toolhub.store.models import MCPServer
from toolhub.store.repositories.base import OrgRepository


class MCPServerRepository(OrgRepository[MCPServer]):
    model = MCPServer
    label = "MCP server"

    def conflict_message(self, row: MCPServer) -> str:
        return f"MCP server {row.server_name!r} already exists"

    async def by_name(self, server_name: str) -> MCPServer:
        row = await self.find(MCPServer.server_name == server_name)
        if row is None:
            raise NotFoundError(f"MCP server {server_name!r} not found")
        return row

    async def create(self, server_name: str, server_type: str, config: dict[str, Any]) -> MCPServer:
        if await self.find(MCPServer.server_name == server_name):
            raise ConflictError(f"MCP server {server_name!r} already exists")
        row = MCPServer(id=new_id("mcp_server"), server_name=server_name, server_type=server_type, config=config)
        return await self.add(row)


async def all_mcp_servers(session: AsyncSession) -> list[MCPServer]:
    """Every organization's servers, for connecting them all at start-up (not reachable from a request)."""
    return list((await session.execute(select(MCPServer).order_by(MCPServer.created_at))).scalars())
