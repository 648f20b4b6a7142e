"""Pure-ASGI middleware: canonical paths, a request id + one log line per request + opaque 500s, and body guards
(a size limit; strict JSON) that refuse a request before any endpoint sees it."""

import json
import logging
import re
import time
import uuid
from collections.abc import Callable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from toolhub.errors import InvalidInputError, PayloadTooLargeError, ToolhubError
from toolhub.server.errors import error_response

logger = logging.getLogger("toolhub.http")

BodyInspector = Callable[[bytes, bool], ToolhubError | None]
"""Sees each body chunk and whether more follow; returns the error that refuses the request, if any."""


class CanonicalPathMiddleware:
    """`/latest/...` is `/v1/...`, and a trailing slash never matters (no 307 redirects, so POSTs keep bodies)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path = scope["path"]
            if path == "/latest" or path.startswith("/latest/"):
                path = "/v1" + path[len("/latest") :]
            if len(path) > 1 and path.endswith("/"):
                path = path.rstrip("/") or "/"
            if path != scope["path"]:
                scope = dict(scope, path=path, raw_path=path.encode())
        await self.app(scope, receive, send)


class RequestLogMiddleware:
    """Gives each request an id (echoed as `X-Request-ID`), logs one line when it ends, and turns an
    unhandled exception into a 500 whose body names only the request id; the traceback goes to the log."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = uuid.uuid4().hex[:16]
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            logger.exception("unhandled error", extra={"fields": {"request_id": request_id}})
            if not response_started:
                detail = f"Internal server error (request id {request_id})"
                response = error_response(
                    500, detail, "internal_error", retryable=None, headers={"x-request-id": request_id}
                )
                await response(scope, receive, send)
            status = 500
        finally:
            route = scope.get("route")
            logger.info(
                "request",
                extra={
                    "fields": {
                        "request_id": request_id,
                        "method": scope["method"],
                        "route": getattr(route, "path", scope["path"]),
                        "status": status,
                        "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                    }
                },
            )


_DIGITS = re.compile(r"[0-9]+")


class BodyLimitMiddleware:
    """Refuses bodies over `max_bytes` with 413: by `Content-Length` before reading a byte, and by counting
    as chunks arrive for chunked or lying bodies (so a 100 MB upload never reaches a handler or a sandbox)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def _too_large(self) -> PayloadTooLargeError:
        mib = self.max_bytes / (1024 * 1024)
        return PayloadTooLargeError(
            f"Request body too large: the limit is {mib:g} MiB ({self.max_bytes} bytes), set by TOOLHUB_MAX_REQUEST_MB"
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _header(scope, b"content-length")
        if declared is not None and _DIGITS.fullmatch(declared.strip()) and int(declared) > self.max_bytes:
            await _send_error(scope, receive, send, self._too_large())
            return
        received = 0

        def count(chunk: bytes, _more: bool) -> ToolhubError | None:
            nonlocal received
            received += len(chunk)
            return self._too_large() if received > self.max_bytes else None

        await _guarded(self.app, scope, receive, send, count)


_SUSPECT = re.compile(rb"\\u(?:[dD][89a-fA-F]|0000)|NaN|Infinity")
"""What may start a refused value (a surrogate or NUL escape, a non-finite number); only bodies holding one are
parsed here, so the check costs one scan for all others."""
_SUSPECT_TAIL = len(b"Infinity") - 1
"""Bytes of the previous chunk kept, so a token split across two chunks is still seen."""


class StrictInputMiddleware:
    """Refuses, with 400, input that Python accepts but that is not portable data: a NUL in the URL (`%00` in a
    path id or a query cursor: PostgreSQL text cannot hold it), and JSON bodies with strings holding a lone
    surrogate (`"\\ud800"`: UTF-8 cannot encode it) or a NUL (`"\\u0000"`), or with `NaN`/`Infinity` (not JSON
    numbers; PostgreSQL refuses them and responses could not carry them). Each would otherwise fail far from the
    request, in a database, a sandbox pipe or an MCP server: a 500. A proper surrogate pair (an emoji written as
    two escapes) is fine."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if "\x00" in scope["path"] or b"%00" in scope["query_string"] or b"\x00" in scope["query_string"]:
            await _send_error(scope, receive, send, InvalidInputError("Invalid URL: it contains a NUL character (%00)"))
            return
        if not _may_be_json(_header(scope, b"content-type")):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        suspect = False

        def inspect(chunk: bytes, more: bool) -> ToolhubError | None:
            nonlocal suspect
            previous_tail = chunks[-1][-_SUSPECT_TAIL:] if chunks else b""
            chunks.append(chunk)
            suspect = suspect or _SUSPECT.search(previous_tail + chunk) is not None
            if more or not suspect:
                return None
            return _strict_json_error(b"".join(chunks))

        await _guarded(self.app, scope, receive, send, inspect)


class _NonFiniteNumber(Exception):
    def __init__(self, token: str) -> None:
        super().__init__(token)
        self.token = token


def _refuse_constant(token: str) -> Any:
    raise _NonFiniteNumber(token)


def _strict_json_error(body: bytes) -> InvalidInputError | None:
    try:
        document = json.loads(body, parse_constant=_refuse_constant)
    except _NonFiniteNumber as exc:
        return InvalidInputError(f"Invalid JSON: {exc.token} is not a JSON number (only finite numbers are)")
    except (ValueError, RecursionError):
        return None  # not JSON the endpoint can read either: it reports that in its own words
    found = _find_bad_text(document)
    if found is None:
        return None
    where, problem = found
    return InvalidInputError(f"Invalid text at {where}: {problem}")


_LONE_SURROGATE = "it contains a lone UTF-16 surrogate escape (\\ud800-\\udfff without its pair), not a character"
_NUL = "it contains a NUL character (\\u0000), which the server does not store or pass on"


def _text_problem(text: str) -> str | None:
    if "\x00" in text:
        return _NUL
    return None if _encodable(text) else _LONE_SURROGATE


def _find_bad_text(document: Any) -> tuple[str, str] | None:
    """The JSON path of the first string (value or key) with a lone surrogate or a NUL, and which; iterative,
    as nesting is the client's choice."""
    pending: list[tuple[Any, str]] = [(document, "body")]
    while pending:
        value, where = pending.pop()
        if isinstance(value, str) and (problem := _text_problem(value)):
            return where, problem
        if isinstance(value, list):
            pending.extend((item, f"{where}[{i}]") for i, item in reversed(list(enumerate(value))))
        elif isinstance(value, dict):
            for key in value:
                if problem := _text_problem(key):
                    return f"a key of {where}", problem
            pending.extend((value[key], f"{where}.{key}") for key in reversed(list(value)))
    return None


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _may_be_json(content_type: str | None) -> bool:
    """FastAPI parses a body as JSON when it has no content type or a JSON one."""
    if content_type is None:
        return True
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


async def _guarded(app: ASGIApp, scope: Scope, receive: Receive, send: Send, inspect: BodyInspector) -> None:
    """Run `app`, showing it the body only while `inspect` accepts it. On refusal the app sees a disconnect
    (so no endpoint acts on a partial body), whatever it answers to that is dropped, and the refusal is sent."""
    refusal: ToolhubError | None = None
    started = False

    async def guarded_receive() -> Message:
        nonlocal refusal
        if refusal is not None:
            return {"type": "http.disconnect"}
        message = await receive()
        if message["type"] == "http.request":
            refusal = inspect(message.get("body", b""), message.get("more_body", False))
            if refusal is not None:
                return {"type": "http.disconnect"}
        return message

    async def guarded_send(message: Message) -> None:
        nonlocal started
        if refusal is not None and not started:
            return
        if message["type"] == "http.response.start":
            started = True
        await send(message)

    try:
        await app(scope, guarded_receive, guarded_send)
    except Exception:
        if refusal is None or started:
            raise
    if refusal is not None and not started:
        await _send_error(scope, receive, send, refusal)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return value.decode("latin-1")
    return None


async def _send_error(scope: Scope, receive: Receive, send: Send, error: ToolhubError) -> None:
    """The error in the one body shape every error response has (see `server/errors.py`)."""
    response = error_response(
        error.status_code, error.detail, error.code, retryable=error.retryable, headers=error.headers
    )
    await response(scope, receive, send)
