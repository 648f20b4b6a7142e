"""`toolhub mcp-stdio`: an MCP server on stdin/stdout that relays to a running toolhub's `/mcp`, for desktop
clients that start their MCP servers as processes (Claude Desktop, Cursor, ...).

Both sides are the SDK's: downstream a lowlevel server over stdio (either protocol era, as the client chooses),
upstream the SDK client over streamable HTTP with the API key as a Bearer token. Tool lists and calls pass through
as they are; the upstream's `tools/list_changed` notices are passed on to the desktop client. Only stderr is ever
written to besides the protocol (stdout is the protocol channel).
"""

import logging
from typing import Any

import anyio
import httpx2
import mcp_types as types
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.client.subscriptions import SubscriptionLost
from mcp.server.connection import Connection
from mcp.server.context import ServerRequestContext
from mcp.server.stdio import stdio_server
from mcp.server.subscriptions import InMemorySubscriptionBus, ListenHandler, ToolsListChanged
from mcp.shared.exceptions import MCPError
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from toolhub import __version__
from toolhub.server.mcp_endpoint._compat import ListChangedServer, connection_of

logger = logging.getLogger("toolhub.mcp_stdio")

RELISTEN_SECONDS = 2.0
"""Wait before opening the upstream change stream again after it was lost (the server restarted, say)."""
HTTP_TIMEOUT = httpx2.Timeout(30.0, read=300.0)
"""The SDK's own defaults: a response stream may stay open for minutes."""

Context = ServerRequestContext[Any, Any]


class _Downstream:
    """Where upstream change notices go: the desktop client's handshake-era connection, or its 2026-07-28
    `subscriptions/listen` streams."""

    def __init__(self) -> None:
        self.bus = InMemorySubscriptionBus()
        self._connections: set[Connection] = set()

    def add(self, connection: Connection) -> None:
        self._connections.add(connection)
        connection.exit_stack.callback(self._connections.discard, connection)

    async def tools_changed(self) -> None:
        for connection in list(self._connections):
            await connection.send_tool_list_changed()
        await self.bus.publish(ToolsListChanged())


async def run_bridge(url: str, key: str | None) -> None:
    """Serve stdin/stdout until the desktop client closes stdin.

    Raises:
        Exception: whatever the SDK raises when toolhub cannot be reached or refuses the key (before serving).
    """
    downstream = _Downstream()

    async def from_upstream(message: Any) -> None:
        if isinstance(message, types.ToolListChangedNotification):
            await downstream.tools_changed()

    headers = {"Authorization": f"Bearer {key}"} if key else None
    async with (
        httpx2.AsyncClient(headers=headers, timeout=HTTP_TIMEOUT) as http,
        Client(streamable_http_client(url, http_client=http), message_handler=from_upstream, cache=None) as upstream,
        anyio.create_task_group() as tasks,
    ):
        if upstream.protocol_version in MODERN_PROTOCOL_VERSIONS:
            tasks.start_soon(_hold_listen_stream, upstream, downstream)
        server = _bridge_server(upstream, downstream)
        async with stdio_server() as (read_stream, write_stream):
            await server.run(read_stream, write_stream, server.create_initialization_options())
        tasks.cancel_scope.cancel()


async def _hold_listen_stream(upstream: Client, downstream: _Downstream) -> None:
    """On 2026-07-28, change notices come only on a `subscriptions/listen` stream; the session hands each one
    to `message_handler` as well, which relays it, so this only keeps a stream open. When it is lost, notices may
    have been missed: the desktop client is told to re-list once a new stream is open."""
    while True:
        try:
            async with upstream.listen(tools_list_changed=True) as subscription:
                async for _event in subscription:
                    pass
        except (SubscriptionLost, MCPError, OSError, httpx2.HTTPError) as exc:
            logger.warning("lost toolhub's change stream (%s); opening it again in %ss", exc, RELISTEN_SECONDS)
        await anyio.sleep(RELISTEN_SECONDS)
        await downstream.tools_changed()


def _bridge_server(upstream: Client, downstream: _Downstream) -> ListChangedServer:
    async def list_tools(_ctx: Context, params: types.PaginatedRequestParams | None) -> types.ListToolsResult:
        cursor = params.cursor if params is not None else None
        return await upstream.list_tools(cursor=cursor)

    async def call_tool(_ctx: Context, params: types.CallToolRequestParams) -> types.CallToolResult:
        return await upstream.call_tool(params.name, params.arguments)

    async def initialized(ctx: Context, _params: types.NotificationParams) -> None:
        downstream.add(connection_of(ctx))

    server = ListChangedServer(
        "toolhub",
        version=__version__,
        instructions=upstream.instructions,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
        on_subscriptions_listen=ListenHandler(downstream.bus),
    )
    server.add_notification_handler("notifications/initialized", types.NotificationParams, initialized)
    return server
