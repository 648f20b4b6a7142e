"""Everything that leans on how `mcp` 2.3 is built rather than on its documented API, in one place, so that an SDK
upgrade is checked here first.

- A lowlevel handler cannot reach its `Connection` (`Context.connection` exists, but the runner hands handlers a
  `ServerRequestContext`, SDK TODO L54); toolhub needs it to send `notifications/tools/list_changed` on a
  handshake-era connection's standalone stream and to clean up when the connection ends (`exit_stack`).
- The streamable-HTTP session manager builds each session's `InitializeResult` from
  `Server.create_initialization_options()` with no way to pass `NotificationOptions` (SDK TODO L53), so
  `tools.listChanged` would be advertised false to handshake-era clients.
"""

from typing import Any

from mcp.server.connection import Connection
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel import NotificationOptions, Server
from mcp.server.models import InitializationOptions


def connection_of(ctx: ServerRequestContext[Any, Any]) -> Connection:
    """The connection a request or notification arrived on."""
    return ctx.session._connection  # noqa: SLF001 - see the module docstring


class ListChangedServer(Server[Any]):
    """A lowlevel `Server` that tells handshake-era clients its tool list can change."""

    def create_initialization_options(
        self,
        notification_options: NotificationOptions | None = None,
        experimental_capabilities: dict[str, dict[str, Any]] | None = None,
        extensions: dict[str, dict[str, Any]] | None = None,
    ) -> InitializationOptions:
        return super().create_initialization_options(
            notification_options or NotificationOptions(tools_changed=True), experimental_capabilities, extensions
        )
