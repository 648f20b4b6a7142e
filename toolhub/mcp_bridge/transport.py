"""Open an initialized MCP client session for a server config: transport choice, SSRF check, connect timeout.

Both the long-lived sessions and the one-off `test` connection go through `open_session`.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import anyio

from toolhub import __version__
from toolhub.mcp_bridge._sdk import load_sdk
from toolhub.mcp_bridge.config import MCPServerConfig, SSEServerConfig, StdioServerConfig, redact
from toolhub.mcp_bridge.errors import MCPBridgeError, MCPPolicyError, MCPServerConnectionError, MCPTimeoutError
from toolhub.mcp_bridge.netguard import resolved_refusal
from toolhub.mcp_bridge.options import BridgeOptions
from toolhub.mcp_bridge.stdio import stdio_transport

if TYPE_CHECKING:
    from mcp.client.session import ClientSession, MessageHandlerFnT
    from mcp_types import Tool

_MAX_TOOL_PAGES = 100


class TransportStatus:
    """What a session's owner learns from below the session: that the stream ended, and why.

    `on_closed` runs as soon as the read stream ends, before callers waiting on the session are failed, so the
    owner's state is already right when they see the error.
    """

    def __init__(self, on_closed: Callable[[TransportStatus], None] | None = None) -> None:
        self.closed = False
        self.reason: str | None = None
        self._on_closed = on_closed

    def report_end(self, reason: str) -> None:
        self.reason = self.reason or reason

    def mark_closed(self) -> None:
        if not self.closed:
            self.closed = True
            if self._on_closed is not None:
                self._on_closed(self)


@asynccontextmanager
async def open_session(
    config: MCPServerConfig,
    options: BridgeOptions,
    status: TransportStatus,
    *,
    message_handler: MessageHandlerFnT | None = None,
) -> AsyncIterator[ClientSession]:
    """Connect and initialize within `options.timeouts.connect`; closing it closes the transport.

    Raises:
        MCPTimeoutError: connecting or initializing took longer than the connect timeout.
        MCPPolicyError: the server's host resolves to a refused address.
        MCPServerConnectionError: a stdio command cannot be started.
        Exception: whatever the transport or the SDK raise (see `describe_failure`).
    """
    await load_sdk()
    from mcp.client.session import ClientSession
    from mcp_types import Implementation

    timeout = options.timeouts.connect
    with anyio.CancelScope(deadline=anyio.current_time() + timeout) as connecting:
        async with (
            _open_transport(config, options, status) as (read_stream, write_stream),
            ClientSession(
                _WatchedReadStream(read_stream, status),
                write_stream,
                message_handler=message_handler,
                client_info=Implementation(name="toolhub", version=__version__),
            ) as session,
        ):
            await session.initialize()
            connecting.deadline = math.inf
            yield session
    if connecting.cancelled_caught:
        raise MCPTimeoutError(
            f"Timed out connecting to MCP server {config.server_name!r} (timeout={timeout}s)"
            + (f": {redact(status.reason, config)}" if status.reason else ""),
            mcp_server_name=config.server_name,
        )


async def list_all_tools(session: ClientSession, *, timeout: float, server_name: str) -> list[Tool]:
    """Every tool the server offers, following pagination, within `timeout`.

    Raises:
        MCPTimeoutError: the listing took longer than `timeout`.
    """
    from mcp_types import PaginatedRequestParams

    tools: list[Tool] = []
    cursor: str | None = None
    try:
        with anyio.fail_after(timeout):
            for _ in range(_MAX_TOOL_PAGES):
                result = await session.list_tools(params=PaginatedRequestParams(cursor=cursor) if cursor else None)
                tools.extend(result.tools)
                if not (cursor := result.next_cursor):
                    return tools
    except TimeoutError:
        raise MCPTimeoutError(
            f"Timed out while listing tools for MCP server {server_name!r} (timeout={timeout}s)",
            mcp_server_name=server_name,
        ) from None
    raise MCPServerConnectionError(
        f"MCP server {server_name!r} paginated tools/list past {_MAX_TOOL_PAGES} pages", mcp_server_name=server_name
    )


def describe_failure(exc: BaseException, status: TransportStatus | None = None) -> str:
    """One line saying why a connection failed or ended, preferring what the transport saw (e.g. an exit code)."""
    if status is not None and status.reason:
        return status.reason
    exc = first_leaf(exc)
    if isinstance(exc, MCPBridgeError):
        return exc.message
    from mcp.shared.exceptions import MCPError

    if isinstance(exc, MCPError):
        return f"MCP error {exc.error.code}: {exc.error.message}"
    detail = getattr(exc, "strerror", None) or str(exc)
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__


def first_leaf(exc: BaseException) -> BaseException:
    """The first exception inside (nested) exception groups, which task groups wrap failures in."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


@asynccontextmanager
async def _open_transport(
    config: MCPServerConfig, options: BridgeOptions, status: TransportStatus
) -> AsyncIterator[Any]:
    if isinstance(config, StdioServerConfig):
        async with stdio_transport(
            config, report_end=status.report_end, max_message_bytes=options.max_message_bytes
        ) as streams:
            yield streams
        return
    if reason := await resolved_refusal(config.server_url):
        raise MCPPolicyError(f"Refused to connect to MCP server {config.server_name!r}: {reason}")
    if isinstance(config, SSEServerConfig):
        from mcp.client.sse import sse_client

        async with sse_client(config.server_url, headers=config.headers(), timeout=options.timeouts.connect) as streams:
            yield streams
        return
    import httpx2
    from mcp.client.streamable_http import streamable_http_client

    # No read timeout: calls carry their own, and the server-push stream may idle for long; health pings cover it.
    timeout = httpx2.Timeout(options.timeouts.connect, read=None)
    async with (
        httpx2.AsyncClient(headers=config.headers(), timeout=timeout) as client,
        streamable_http_client(config.server_url, http_client=client) as streams,
    ):
        yield streams


class _WatchedReadStream:
    """Passes the transport's read stream through, and marks `status` closed when it ends."""

    def __init__(self, inner: Any, status: TransportStatus) -> None:
        self._inner = inner
        self._status = status

    @property
    def last_context(self) -> Any:
        return getattr(self._inner, "last_context", None)

    async def receive(self) -> Any:
        try:
            return await self._inner.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError):
            self._status.mark_closed()
            raise

    def __aiter__(self) -> _WatchedReadStream:
        return self

    async def __anext__(self) -> Any:
        try:
            return await self.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None

    async def aclose(self) -> None:
        self._status.mark_closed()
        await self._inner.aclose()

    async def __aenter__(self) -> _WatchedReadStream:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
