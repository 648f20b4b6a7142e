"""MCP servers as an organization sees them: the shared servers of `mcp_config.json` plus its own, added
through the API and stored in the database. Each organization gets its own bridge manager, so one tenant's
server names and sessions never reach another's."""

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from toolhub.errors import ToolServerNotFoundError, ToolServerUnreachableError
from toolhub.mcp_bridge.config import MCPServerConfig, parse_server_config
from toolhub.mcp_bridge.live_session import ServerStatus
from toolhub.mcp_bridge.errors import MCPBridgeError, MCPServerNameAlreadyExistsError, MCPServerNotFoundError
from toolhub.mcp_bridge.manager import MCPManager
from toolhub.mcp_bridge.options import BridgeOptions
from toolhub.mcp_bridge.results import MCPCallResult
from toolhub.mcp_bridge.watch import ConfigWatcher
from toolhub.store.db import Database
from toolhub.store.repositories.mcp_servers import all_mcp_servers
from toolhub.tools.spec import MCPTarget

logger = logging.getLogger(__name__)

Source = Literal["config_file", "api"]


@dataclass(frozen=True)
class ServerView:
    config: MCPServerConfig
    source: Source
    status: ServerStatus


class MCPHub:
    def __init__(self, options: BridgeOptions, config_path: Path) -> None:
        self.options = options
        self.config_path = config_path
        self._shared = MCPManager(options)
        self._orgs: dict[str, MCPManager] = {}
        self._watcher = ConfigWatcher(self._shared, config_path)

    async def start(self, db: Database) -> None:
        """Start connecting every stored server and the config file's; nothing here waits for a server."""
        async with db.session() as session:
            rows = await all_mcp_servers(session)
        for row in rows:
            try:
                await self.org(row.organization_id).add(parse_server_config(row.config))
            except MCPBridgeError as exc:
                logger.error("stored MCP server %r not started: %s", row.server_name, exc)
        await self._watcher.start()

    def org(self, organization_id: str) -> MCPManager:
        if organization_id not in self._orgs:
            self._orgs[organization_id] = MCPManager(self.options)
        return self._orgs[organization_id]

    def locate(self, organization_id: str, name: str) -> tuple[MCPManager, Source]:
        own = self.org(organization_id)
        if name in own.configs():
            return own, "api"
        if name in self._shared.configs():
            return self._shared, "config_file"
        raise MCPServerNotFoundError(f"MCP server {name!r} not found", mcp_server_name=name)

    async def call(self, organization_id: str, target: MCPTarget, args: Mapping[str, Any]) -> MCPCallResult:
        """Call a registered MCP tool. What the tool answered, errors included, is the result.

        Raises:
            ToolServerNotFoundError: the tool's server is no longer configured.
            ToolServerUnreachableError: the server is configured but unhealthy, so nothing was sent.
        """
        try:
            manager, _ = self.locate(organization_id, target.server_name)
        except MCPServerNotFoundError:
            raise ToolServerNotFoundError(
                f"MCP server {target.server_name!r} of tool {target.tool_name!r} is not configured; add it again "
                "or delete the tool",
                op="mcp.call",
            ) from None
        status = manager.status(target.server_name)
        if status.state == "unhealthy":
            reason = status.last_error or "no live session"
            raise ToolServerUnreachableError(
                f"MCP server {target.server_name!r} is unreachable: {reason}", op="mcp.call"
            )
        return await manager.call_tool(
            target.server_name, target.tool_name, dict(args), expected_fingerprint=target.fingerprint
        )

    def servers(self, organization_id: str) -> list[ServerView]:
        views = [
            ServerView(config, source, manager.status(name))
            for manager, source in ((self._shared, "config_file"), (self.org(organization_id), "api"))
            for name, config in manager.configs().items()
        ]
        return sorted(views, key=lambda view: view.config.server_name)

    async def add(self, organization_id: str, config: MCPServerConfig) -> None:
        if config.server_name in self._shared.configs():
            raise MCPServerNameAlreadyExistsError(
                f"MCP server {config.server_name!r} already exists in {self.config_path}",
                server_name=config.server_name,
            )
        await self.org(organization_id).add(config)

    async def test(self, config: MCPServerConfig) -> list:
        """Connect, list and disconnect without configuring anything (policy checks still apply)."""
        return await self._shared.test(config)

    async def close(self) -> None:
        await self._watcher.stop()
        for manager in (self._shared, *self._orgs.values()):
            await manager.close()
