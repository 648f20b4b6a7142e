"""`MCPManager`: the bridge's Python API — one long-lived session per configured MCP server.

Importing this module does not import the MCP SDK; the first connection loads it in a worker thread.

    async with MCPManager(BridgeOptions(allow_stdio=False)) as manager:
        await manager.add(config)                      # returns at once; connects in the background
        tools = await manager.list_tools("time")       # from the cache
        result = await manager.call_tool("time", "get_current_time", {"timezone": "UTC"})
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from toolhub.mcp_bridge.config import MCPServerConfig, StdioServerConfig, redact
from toolhub.mcp_bridge.transport import TransportStatus, describe_failure, first_leaf, list_all_tools, open_session
from toolhub.mcp_bridge.live_session import ServerConnection, ServerStatus
from toolhub.mcp_bridge.errors import (
    MCPBridgeError,
    MCPPolicyError,
    MCPServerConnectionError,
    MCPServerNameAlreadyExistsError,
    MCPServerNotFoundError,
)
from toolhub.mcp_bridge.options import BridgeOptions
from toolhub.mcp_bridge.results import MCPCallResult

if TYPE_CHECKING:
    from types import TracebackType

    from mcp_types import Tool


class MCPManager:
    """Owns every server's connection. Usable from a FastAPI lifespan: `async with MCPManager(...)`."""

    def __init__(self, options: BridgeOptions | None = None) -> None:
        self._options = options or BridgeOptions()
        self._servers: dict[str, ServerConnection] = {}
        self._retiring: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> MCPManager:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    def configs(self) -> dict[str, MCPServerConfig]:
        """The configured servers by name."""
        return {name: server.config for name, server in self._servers.items()}

    async def add(self, config: MCPServerConfig) -> None:
        """Configure a server and start connecting to it in the background; returns without waiting.

        Raises:
            MCPPolicyError: stdio servers are disabled.
            MCPServerNameAlreadyExistsError: a server of that name is configured.
        """
        self._check_policy(config)
        name = config.server_name
        if name in self._servers:
            raise MCPServerNameAlreadyExistsError(f"MCP server {name!r} already exists", server_name=name)
        self._servers[name] = server = ServerConnection(config, self._options)
        server.start()

    async def update(self, config: MCPServerConfig) -> bool:
        """Replace a server's config. An identical config keeps the live session; returns whether it restarted.

        Raises:
            MCPPolicyError: stdio servers are disabled.
            MCPServerNotFoundError: no server of that name.
        """
        self._check_policy(config)
        current = self._get(config.server_name)
        if current.config == config:
            return False
        self._retire(current)
        self._servers[config.server_name] = server = ServerConnection(config, self._options)
        server.start()
        return True

    async def remove(self, name: str) -> None:
        """Forget a server; its session closes (and its process stops) in the background.

        Raises:
            MCPServerNotFoundError: no server of that name.
        """
        self._retire(self._get(name))
        del self._servers[name]

    def status(self, name: str) -> ServerStatus:
        """Health of one server: `connecting`, `healthy` or `unhealthy`, the last error, the tool count.

        Raises:
            MCPServerNotFoundError: no server of that name.
        """
        return self._get(name).status()

    async def list_tools(self, name: str) -> list[Tool]:
        """The server's tools from the cache (refreshed on `tools/list_changed`, reconnect and `resync`).

        Waits for the first listing if the server is still making its first connection.

        Raises:
            MCPServerNotFoundError: no server of that name.
            MCPServerUnavailableError: the server has never been reachable.
        """
        return await self._get(name).list_tools()

    async def resync(self, name: str) -> list[Tool]:
        """List the server's tools now (reconnecting at once if it is down) and refresh the cache.

        Raises:
            MCPServerNotFoundError: no server of that name.
            MCPServerConnectionError: the server could not be listed (MCPTimeoutError, MCPServerUnavailableError).
        """
        return await self._get(name).resync()

    async def call_tool(
        self,
        name: str,
        tool: str,
        arguments: dict[str, Any] | None = None,
        *,
        expected_fingerprint: str | None = None,
        timeout: float | None = None,
    ) -> MCPCallResult:
        """Call a tool; every failure (unknown server, timeout, lost connection, drift) is an error result.

        With `expected_fingerprint` (from `convert.tool_fields`), the call is refused when the server's current
        definition of the tool differs from the one registered. `timeout` overrides the configured call timeout.
        """
        server = self._servers.get(name)
        if server is None:
            return MCPCallResult.error(f"MCP server {name!r} is not configured")
        return await server.call_tool(tool, arguments, expected_fingerprint=expected_fingerprint, timeout=timeout)

    async def test(self, config: MCPServerConfig) -> list[Tool]:
        """Connect, list the tools and disconnect, without configuring the server.

        Raises:
            MCPPolicyError: refused by policy (stdio disabled, a refused address).
            MCPTimeoutError: connecting or listing timed out.
            MCPServerConnectionError: any other failure, with the reason in the message.
        """
        self._check_policy(config)
        status = TransportStatus()
        timeouts = self._options.timeouts
        try:
            async with open_session(config, self._options, status) as session:
                return await list_all_tools(session, timeout=timeouts.list_tools, server_name=config.server_name)
        except Exception as exc:  # boundary: any transport or SDK failure becomes one error type for the caller
            if isinstance(bridge_error := first_leaf(exc), MCPBridgeError):
                raise bridge_error from None
            reason = redact(describe_failure(exc, status), config)
            raise MCPServerConnectionError(
                f"Failed to connect to MCP server {config.server_name!r}: {reason}",
                mcp_server_name=config.server_name,
            ) from None

    async def close(self) -> None:
        """Close every session and stop every stdio server process; returns when they are gone."""
        servers = list(self._servers.values())
        self._servers.clear()
        await asyncio.gather(*(server.stop() for server in servers), *self._retiring)

    def _get(self, name: str) -> ServerConnection:
        try:
            return self._servers[name]
        except KeyError:
            raise MCPServerNotFoundError(f"MCP server {name!r} not found", mcp_server_name=name) from None

    def _check_policy(self, config: MCPServerConfig) -> None:
        if isinstance(config, StdioServerConfig) and not self._options.allow_stdio:
            raise MCPPolicyError(
                f"Cannot use MCP server {config.server_name!r}: stdio servers are disabled on this server",
                mcp_server_name=config.server_name,
            )

    def _retire(self, server: ServerConnection) -> None:
        """Stop a replaced or removed server without making the caller wait for its process to exit."""
        task = asyncio.create_task(server.stop(), name=f"mcp-stop:{server.config.server_name}")
        self._retiring.add(task)
        task.add_done_callback(self._retiring.discard)
