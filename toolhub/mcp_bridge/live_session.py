"""One configured server: a background task keeps one client session open, and every call shares it.

The task connects, lists tools, then watches the session (stream end, health pings); when the session ends it
reconnects with exponential back-off, respawning a stdio server. Calls run in the caller's task on the current
session, so several can be in flight at once; a call never outlives its timeout.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import anyio

from toolhub.mcp_bridge.config import MCPServerConfig, redact
from toolhub.mcp_bridge.transport import TransportStatus, describe_failure, list_all_tools, open_session
from toolhub.mcp_bridge.convert import fingerprint
from toolhub.mcp_bridge.errors import MCPServerConnectionError, MCPServerUnavailableError
from toolhub.mcp_bridge.options import BridgeOptions
from toolhub.mcp_bridge.results import MCPCallResult, call_result

if TYPE_CHECKING:
    from mcp.client.session import ClientSession, IncomingMessage
    from mcp_types import Tool

logger = logging.getLogger(__name__)

ServerState = Literal["connecting", "healthy", "unhealthy"]
_CALL_GRACE = 5.0
"""Beyond the SDK's own request timeout, the time a call may take before the bridge abandons it regardless."""


@dataclass(frozen=True, slots=True)
class ServerStatus:
    server_name: str
    state: ServerState
    last_error: str | None
    """Why the server was last unavailable; kept after it recovers, until the next failure replaces it."""
    tool_count: int


class ServerConnection:
    def __init__(self, config: MCPServerConfig, options: BridgeOptions) -> None:
        self.config = config
        self._options = options
        self._name = config.server_name
        self._state: ServerState = "connecting"
        self._last_error: str | None = None
        self._attempts = 0
        self._healthy_since: float | None = None
        self._session: ClientSession | None = None
        self._tools: dict[str, Tool] = {}
        self._fingerprints: dict[str, str] = {}
        self._listed = False
        self._state_changed = anyio.Event()
        self._retry_now = anyio.Event()
        self._wake_watch = anyio.Event()
        self._refresh_lock = anyio.Lock()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"mcp-server:{self._name}")

    async def stop(self) -> None:
        """Close the session and stop the server process; returns once it is gone."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.wait([self._task])

    def status(self) -> ServerStatus:
        return ServerStatus(self._name, self._state, self._last_error, len(self._tools))

    @property
    def tools(self) -> list[Tool]:
        return list(self._tools.values())

    async def list_tools(self) -> list[Tool]:
        """The cached tool list; waits for the first listing while the first connection is being made.

        Raises:
            MCPServerUnavailableError: the server has never been listed and is not connected.
        """
        if not self._listed:
            timeouts = self._options.timeouts
            await self._wait_until(
                lambda: self._listed or self._state == "unhealthy", timeouts.connect + timeouts.list_tools
            )
        if not self._listed:
            raise self._unavailable()
        return self.tools

    async def resync(self) -> list[Tool]:
        """List the server's tools now; when it is down, try to reconnect at once instead of after the back-off.

        Raises:
            MCPServerUnavailableError: no session could be had within the connect timeout.
            MCPServerConnectionError: the listing failed (MCPTimeoutError when it timed out).
        """
        session = self._session
        if session is None:
            attempts = self._attempts
            self._retry_now.set()
            timeouts = self._options.timeouts
            await self._wait_until(
                lambda: self._attempts > attempts or self._session is not None, timeouts.connect + timeouts.list_tools
            )
            if self._session is None:
                raise self._unavailable()
            return self.tools
        try:
            return await self._refresh_tools(session)
        except MCPServerConnectionError:
            raise
        except Exception as exc:  # boundary: any SDK failure becomes one error type for the caller
            raise MCPServerConnectionError(
                f"Listing tools of MCP server {self._name!r} failed: {describe_failure(exc)}",
                mcp_server_name=self._name,
            ) from None

    async def call_tool(
        self, tool: str, arguments: dict[str, Any] | None, *, expected_fingerprint: str | None, timeout: float | None
    ) -> MCPCallResult:
        session = self._session
        if session is None:
            await self._wait_until(
                lambda: self._state == "unhealthy" or self._session is not None, self._options.timeouts.connect
            )
            session = self._session
            if session is None:
                return MCPCallResult.error(str(self._unavailable()))
        if expected_fingerprint is not None and (refusal := self._drift_refusal(tool, expected_fingerprint)):
            return MCPCallResult.error(refusal)

        from mcp.shared.exceptions import MCPError
        from mcp_types import CONNECTION_CLOSED, REQUEST_TIMEOUT
        from pydantic import ValidationError

        timeout = timeout or self._options.timeouts.call
        timed_out = MCPCallResult.error(f"Tool {tool!r} on MCP server {self._name!r} timed out after {timeout}s")
        try:
            with anyio.move_on_after(timeout + _CALL_GRACE) as guard:
                result = await session.call_tool(tool, arguments, read_timeout_seconds=timeout)
        except MCPError as exc:
            if exc.error.code == REQUEST_TIMEOUT:
                self._wake_watch.set()
                return timed_out
            if exc.error.code == CONNECTION_CLOSED:
                return MCPCallResult.error(
                    f"The connection to MCP server {self._name!r} was lost during the call to {tool!r}; reconnecting"
                )
            return MCPCallResult.error(f"MCP server {self._name!r} rejected the call to {tool!r}: {exc.error.message}")
        except (RuntimeError, ValidationError, TimeoutError) as exc:  # a malformed or unexpected result
            return MCPCallResult.error(f"Calling {tool!r} on MCP server {self._name!r} failed: {describe_failure(exc)}")
        if guard.cancelled_caught:
            self._wake_watch.set()
            return timed_out
        return call_result(result, max_chars=self._options.max_result_chars)

    def _drift_refusal(self, tool: str, expected: str) -> str | None:
        current = self._fingerprints.get(tool)
        if current == expected:
            return None
        if current is None:
            return f"Tool {tool!r} no longer exists on MCP server {self._name!r}; it must be registered again"
        return (
            f"Tool {tool!r} changed on MCP server {self._name!r} since it was registered (its name, description, "
            f"input schema or annotations differ); it must be registered again before it can be called"
        )

    def _unavailable(self) -> MCPServerUnavailableError:
        reason = self._last_error or "still connecting"
        return MCPServerUnavailableError(
            f"MCP server {self._name!r} is unavailable: {reason}", mcp_server_name=self._name
        )

    async def _run(self) -> None:
        failures = 0
        while True:
            self._set_state("connecting")
            self._healthy_since = None
            status = TransportStatus(on_closed=self._session_closed)
            try:
                await self._serve(status)
                error = status.reason or "the connection closed"
            except Exception as exc:  # top level of a background task: every failure becomes the server's health
                error = describe_failure(exc, status)
            error = redact(error, self.config)
            self._attempts += 1
            up_since = self._healthy_since
            if up_since is not None and anyio.current_time() - up_since >= self._options.backoff.stable_after:
                failures = 0
            failures += 1
            self._last_error = error
            self._set_state("unhealthy")
            logger.warning("MCP server %r is unavailable: %s", self._name, error)
            with anyio.move_on_after(self._options.backoff.delay(failures)):
                await self._retry_now.wait()
            self._retry_now = anyio.Event()

    async def _serve(self, status: TransportStatus) -> None:
        """One session's life: connect, list, then watch it until it ends."""
        async with open_session(self.config, self._options, status, message_handler=self._on_message) as session:
            await self._refresh_tools(session)
            self._session = session
            self._healthy_since = anyio.current_time()
            self._set_state("healthy")
            logger.info("MCP server %r connected with %d tools", self._name, len(self._tools))
            try:
                await self._watch(session, status)
            finally:
                self._drop_session(status.reason or "the connection closed")

    async def _watch(self, session: ClientSession, status: TransportStatus) -> None:
        """Return when the stream ends; ping when idle or after a call timed out, and raise if no answer comes."""
        while not status.closed:
            with anyio.move_on_after(self._options.health_interval):
                await self._wake_watch.wait()
            self._wake_watch = anyio.Event()
            if status.closed:
                return
            with anyio.fail_after(self._options.timeouts.list_tools):
                await session.send_ping()

    def _session_closed(self, status: TransportStatus) -> None:
        """The stream ended: fail over before callers waiting on the session see the error; wake the watcher."""
        self._drop_session(status.reason or "the connection closed")
        self._wake_watch.set()

    def _drop_session(self, reason: str) -> None:
        """Stop handing out the live session, if there is one, and say why (the runner refines it after teardown)."""
        if self._session is None:  # not live yet (connecting), or already dropped
            return
        self._session = None
        self._last_error = redact(reason, self.config)
        self._set_state("unhealthy")

    async def _on_message(self, message: IncomingMessage) -> None:
        from mcp_types import ToolListChangedNotification

        if isinstance(message, Exception):
            logger.warning(
                "MCP server %r: transport error: %s", self._name, redact(describe_failure(message), self.config)
            )
        elif isinstance(message, ToolListChangedNotification) and (session := self._session) is not None:
            await self._refresh_tools(session)

    async def _refresh_tools(self, session: ClientSession) -> list[Tool]:
        async with self._refresh_lock:
            tools = await list_all_tools(session, timeout=self._options.timeouts.list_tools, server_name=self._name)
            self._tools = {tool.name: tool for tool in tools}
            self._fingerprints = {tool.name: fingerprint(tool) for tool in tools}
            self._listed = True
        return tools

    def _set_state(self, state: ServerState) -> None:
        self._state = state
        self._state_changed.set()
        self._state_changed = anyio.Event()

    async def _wait_until(self, predicate: Callable[[], bool], timeout: float) -> None:
        """Wait for the predicate over this server's state to hold, at most `timeout` seconds."""
        with anyio.move_on_after(timeout):
            while True:
                changed = self._state_changed
                if predicate():
                    return
                await changed.wait()
