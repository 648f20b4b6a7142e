"""The endpoint's HTTP face, mounted at `/mcp` and `/mcp/{profile}`: authentication first, then the SDK's
streamable-HTTP transport (`runtime.py`, started on the first request).

Authentication is the REST API's: with a server password, `Authorization: Bearer <password or API key>`; a key
acts as its owner, and the endpoint serves that owner's organization's tools. Without a password every request is
the default user (or the `user_id` header's), as on the REST API, so a browser page must not be able to make
those requests: a cross-origin `Origin` (anything but localhost) is refused then.
"""

import asyncio
import importlib
import json
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import Receive, Scope, Send

from toolhub.errors import ForbiddenError, ToolhubError
from toolhub.server.auth import authenticate, resolve_actor
from toolhub.server.errors import error_response
from toolhub.server.mcp_endpoint.caller import Caller

if TYPE_CHECKING:  # the SDK is imported on the first MCP request
    from toolhub.server.mcp_endpoint.runtime import Runtime

LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
INVALID_REQUEST = -32600
"""JSON-RPC's code for a request the server will not serve."""


class MCPEndpoint:
    """A raw ASGI app; one per FastAPI app, closed by its lifespan."""

    def __init__(self) -> None:
        self._runtime: "Runtime | None" = None
        self._starting = asyncio.Lock()
        self._stop = asyncio.Event()
        self._serving: asyncio.Task[None] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope)
        try:
            caller = await authenticate_caller(request, scope.get("path_params", {}).get("profile"))
        except ToolhubError as exc:
            await _refusal(exc)(scope, receive, send)
            return
        runtime = await self._started(request)
        await runtime.handle(caller, scope, receive, send)

    async def _started(self, request: Request) -> "Runtime":
        if self._runtime is not None:
            return self._runtime
        async with self._starting:
            if self._runtime is None:
                module = await asyncio.to_thread(importlib.import_module, "toolhub.server.mcp_endpoint.runtime")
                settings = request.app.state.settings
                runtime = module.Runtime(
                    request.app.state.services, max_request_bytes=settings.max_request_mb * 1024 * 1024
                )
                ready = asyncio.Event()
                self._serving = asyncio.create_task(runtime.serve(ready, self._stop))
                readiness = asyncio.create_task(ready.wait())
                await asyncio.wait({readiness, self._serving}, return_when=asyncio.FIRST_COMPLETED)
                if not ready.is_set():  # the session manager failed to start: say why, to this request
                    readiness.cancel()
                    self._serving.result()
                self._runtime = runtime
        return self._runtime

    async def aclose(self) -> None:
        """End every MCP session and stream (at server shutdown)."""
        self._stop.set()
        if self._serving is not None:
            await self._serving


async def authenticate_caller(request: Request, profile_name: str | None) -> Caller:
    """Who the request acts for, and the profile it asks for.

    Raises:
        UnauthorizedError: missing or wrong credentials (when the server has a password).
        ForbiddenError: a cross-origin browser request to a server without a password.
        NotFoundError: no such profile for the caller's organization (or no such user).
    """
    if request.app.state.settings.server_password is None:
        _check_origin(request)
    actor = await resolve_actor(request, await authenticate(request))
    profile = None
    if profile_name is not None:
        profile = await request.app.state.services.mcp_profiles.scope(actor, profile_name)
    return Caller(actor=actor, profile=profile)


def _refusal(exc: ToolhubError) -> JSONResponse:
    """The REST API's error body, which is also a JSON-RPC error: MCP clients show its message (the SDK reports
    any other non-2xx body only as "Server returned an error response")."""
    rest = error_response(exc.status_code, exc.detail, exc.code, retryable=exc.retryable, headers=exc.headers)
    message = exc.detail if isinstance(exc.detail, str) else str(exc)
    error = {"code": INVALID_REQUEST, "message": message}
    body = {**json.loads(rest.body), "jsonrpc": "2.0", "id": None, "error": error}
    headers = {key: value for key, value in rest.headers.items() if key not in ("content-length", "content-type")}
    return JSONResponse(body, status_code=exc.status_code, headers=headers)


def _check_origin(request: Request) -> None:
    origin = request.headers.get("origin")
    if origin is not None and urlsplit(origin).hostname not in LOOPBACK_HOSTS:
        raise ForbiddenError(
            f"MCP requests from the browser origin {origin!r} are refused: this server has no password; set "
            "TOOLHUB_SERVER_PASSWORD and send an API key"
        )
