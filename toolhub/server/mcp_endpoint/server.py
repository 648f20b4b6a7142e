"""The MCP server behind `/mcp`: `tools/list` and `tools/call` over the caller's tools, and tool-list change
notices in both protocol eras (a handshake-era connection's standalone stream; a 2026-07-28
`subscriptions/listen` stream). The HTTP layer (`http.py`) has already authenticated the request and put its
`Caller` on the request state.

Every call goes through the one door, `ToolExecutor.execute`, and is logged with the tool, the caller, the
duration and the outcome, never the arguments (they may carry secrets).
"""

import logging
import time
from collections.abc import Callable
from typing import Any, cast

import mcp_types as types
from mcp.server.context import ServerRequestContext
from mcp.server.subscriptions import ListenHandler, SubscriptionBus, ToolsListChanged
from mcp.shared.exceptions import MCPError
from mcp.shared.subscriptions import ServerEvent

from toolhub import __version__
from toolhub.errors import ToolhubError
from toolhub.server.mcp_endpoint._compat import ListChangedServer, connection_of
from toolhub.server.mcp_endpoint.audiences import Audiences, TooManyListenersError
from toolhub.server.mcp_endpoint.caller import Caller
from toolhub.server.mcp_endpoint.catalog import mcp_tool
from toolhub.server.mcp_endpoint.results import failure_result, outcome_result
from toolhub.services.mcp_profiles import MCPProfileService
from toolhub.tools.executor import ExecutionContext, ToolExecutor
from toolhub.tools.spec import ToolCall, ToolSpec

logger = logging.getLogger("toolhub.mcp")

CALLER_STATE = "mcp_caller"
"""The request-state attribute the HTTP layer puts the `Caller` in."""
PAGE_SIZE = 500
"""Tools per `tools/list` page."""
INSTRUCTIONS = (
    "toolhub's tools: custom Python tools run in a sandbox, and tools of the MCP servers registered with toolhub."
)

Context = ServerRequestContext[Any, Any]


def build_server(profiles: MCPProfileService, executor: ToolExecutor, audiences: Audiences) -> ListChangedServer:
    """A lowlevel server whose handlers read the caller from each request."""

    async def list_tools(ctx: Context, params: types.PaginatedRequestParams | None) -> types.ListToolsResult:
        caller = caller_of(ctx)
        after = params.cursor if params is not None else None
        rows = await profiles.served_tools(caller.actor, caller.profile, after=after, limit=PAGE_SIZE + 1)
        tools = [types.Tool.model_validate(mcp_tool(row)) for row in rows[:PAGE_SIZE]]
        next_cursor = rows[PAGE_SIZE - 1].id if len(rows) > PAGE_SIZE else None
        return types.ListToolsResult(tools=tools, next_cursor=next_cursor)

    async def call_tool(ctx: Context, params: types.CallToolRequestParams) -> types.CallToolResult:
        caller = caller_of(ctx)
        started = time.perf_counter()
        row = await profiles.served_tool(caller.actor, caller.profile, params.name)
        if row is None:
            _log_call(caller, params.name, None, started, "unknown_tool")
            raise MCPError(types.INVALID_PARAMS, f"Unknown tool: {params.name!r}")
        call = ToolCall(spec=ToolSpec.from_row(row), args=params.arguments or {})
        try:
            outcome = await executor.execute(call, ExecutionContext(actor=caller.actor))
        except ToolhubError as exc:
            _log_call(caller, row.name, row.id, started, exc.code)
            return failure_result(exc)
        except Exception:  # a bug: the SDK answers with an internal error; the call is still in the log
            _log_call(caller, row.name, row.id, started, "internal_error")
            raise
        _log_call(caller, row.name, row.id, started, outcome.status)
        return outcome_result(outcome)

    async def initialized(ctx: Context, _params: types.NotificationParams) -> None:
        """A handshake-era session is ready: its standalone stream carries our change notices until it ends."""
        caller = caller_of(ctx)
        connection = connection_of(ctx)
        await audiences.join(caller)
        try:
            unregister = audiences.register(caller, connection.send_tool_list_changed)
        except TooManyListenersError as exc:
            logger.warning("no tools/list_changed for this session: %s", exc)
            return
        connection.exit_stack.callback(unregister)

    async def listen(ctx: Context, params: types.SubscriptionsListenRequestParams) -> types.SubscriptionsListenResult:
        caller = caller_of(ctx)
        await audiences.join(caller)
        return await ListenHandler(cast(SubscriptionBus, _CallerBus(audiences, caller)))(ctx, params)

    server = ListChangedServer(
        "toolhub",
        version=__version__,
        instructions=INSTRUCTIONS,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
        on_subscriptions_listen=listen,
        # Without it, the SDK lists all of the caller's tools on every 2026-07-28 call with arguments, to check
        # `Mcp-Param-*` headers against `x-mcp-header` declarations. toolhub does not offer that header routing.
        get_tool_input_schema=lambda _name: None,
    )
    server.add_notification_handler("notifications/initialized", types.NotificationParams, initialized)
    return server


def caller_of(ctx: Context) -> Caller:
    caller = getattr(ctx.request.state, CALLER_STATE, None) if ctx.request is not None else None
    if not isinstance(caller, Caller):
        raise MCPError(types.INTERNAL_ERROR, "The request reached the MCP server without a caller")
    return caller


class _CallerBus:
    """The subscribing half of a `SubscriptionBus`, for one `subscriptions/listen` stream: it hears only what
    changes for its caller (changes are published through `ToolChanges`, never on a bus)."""

    def __init__(self, audiences: Audiences, caller: Caller) -> None:
        self._audiences = audiences
        self._caller = caller

    def subscribe(self, listener: Callable[[ServerEvent], None]) -> Callable[[], None]:
        async def notify() -> None:
            listener(ToolsListChanged())

        try:
            return self._audiences.register(self._caller, notify)
        except TooManyListenersError as exc:
            raise MCPError(types.INTERNAL_ERROR, str(exc)) from None


def _log_call(caller: Caller, tool: str, tool_id: str | None, started: float, outcome: str) -> None:
    fields = {
        "tool": tool,
        "tool_id": tool_id or "-",
        "user_id": caller.actor.user_id,
        "organization_id": caller.actor.organization_id,
        "profile": caller.profile_name,
        "duration_ms": round((time.perf_counter() - started) * 1000, 2),
        "outcome": outcome,
    }
    logger.info("mcp tool call", extra={"fields": fields})
