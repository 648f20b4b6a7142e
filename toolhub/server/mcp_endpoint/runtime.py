"""The SDK side of the endpoint, made on the first MCP request (importing the SDK costs about a second, which a
server that never serves MCP should not pay at start-up): the MCP server, its streamable-HTTP session manager,
and the change listeners.

Sessions of handshake-era clients live in this process (a load balancer in front of several replicas must keep
such a client on one replica); 2026-07-28 requests carry everything they need and go to any replica.
"""

import asyncio
from functools import partial

from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from starlette.types import Receive, Scope, Send

from toolhub.server.mcp_endpoint.audiences import Audiences
from toolhub.server.mcp_endpoint.caller import Caller
from toolhub.server.mcp_endpoint.catalog import view_digest
from toolhub.server.mcp_endpoint.server import CALLER_STATE, build_server
from toolhub.services import Services


class Runtime:
    def __init__(self, services: Services, *, max_request_bytes: int) -> None:
        self.audiences = Audiences(partial(view_digest, services.mcp_profiles))
        server = build_server(services.mcp_profiles, services.executor, self.audiences)
        # JSON answers: toolhub's handlers send nothing to the client while a call runs (no progress, sampling or
        # elicitation), and a JSON answer skips the SSE machinery of every call. Change notices still flow: on the
        # session's GET stream, and on `subscriptions/listen`, which is always a stream.
        self._manager = StreamableHTTPSessionManager(
            app=server, json_response=True, max_request_body_size=max_request_bytes
        )
        self._unsubscribe = services.tool_changes.subscribe(self.audiences.changed)

    async def serve(self, ready: asyncio.Event, stop: asyncio.Event) -> None:
        """Run the session manager until `stop` is set (it ends every session and stream)."""
        try:
            async with self._manager.run():
                ready.set()
                await stop.wait()
        finally:
            self._unsubscribe()
            await self.audiences.aclose()

    async def handle(self, caller: Caller, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one authenticated HTTP request. The SDK binds a session to the `user` that opened it: a request
        of another user, or for another profile, is answered as if the session did not exist."""
        scope.setdefault("state", {})[CALLER_STATE] = caller
        scope["user"] = AuthenticatedUser(AccessToken(token="-", client_id=caller.owner, scopes=[]))
        await self._manager.handle_request(scope, receive, send)
