"""One body shape for every error response: `{"detail": ..., "code": ...}`, plus `"retryable": true` when the same
request may succeed later.

`detail` stays what Letta clients read (a text, Letta's `{"code", "message"}` object for MCP errors, FastAPI's
list for validation errors). Errors that will not change on retry carry `x-should-retry: false`, so the 1.x SDK
does not resend a 409 twice with back-off; 429 and 503 carry `Retry-After` where it is known. One handler on the
root `ToolhubError` covers every domain error (Starlette looks handlers up by the exception's MRO). An unexpected
exception is logged and answered with a fixed 500 by `middleware.RequestLogMiddleware`, which names the request id.
"""

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException

from toolhub.errors import ToolhubError

logger = logging.getLogger("toolhub.server")

FINAL_STATUSES = frozenset({400, 401, 403, 404, 409, 413, 422})
"""Client errors that the same request will meet again."""
_CODES_BY_STATUS = {
    400: "invalid_input",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    422: "validation_error",
    429: "too_many_requests",
}


def error_response(
    status_code: int,
    detail: Any,
    code: str,
    *,
    retryable: bool | None = False,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """`retryable` None means unknown (an unexpected 500): no hint either way, the client's policy decides."""
    body: dict[str, Any] = {"detail": detail, "code": code}
    if retryable:
        body["retryable"] = True
    headers = dict(headers or {})
    if status_code in FINAL_STATUSES or (status_code >= 500 and retryable is False):
        headers["x-should-retry"] = "false"
    if status_code == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return JSONResponse(jsonable_encoder(body), status_code=status_code, headers=headers or None)


async def _toolhub_error(_request: Request, exc: ToolhubError) -> JSONResponse:
    if exc.status_code >= 500:
        logger.warning("%s (%s): %s", exc.code, getattr(exc, "op", "-"), exc)
    return error_response(exc.status_code, exc.detail, exc.code, retryable=exc.retryable, headers=exc.headers)


async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
    return error_response(422, exc.errors(), "validation_error")


async def _http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
    code = _CODES_BY_STATUS.get(exc.status_code, "http_error")
    return error_response(exc.status_code, exc.detail, code, headers=dict(exc.headers or {}))


async def _integrity_error(_request: Request, _exc: IntegrityError) -> JSONResponse:
    """A last resort: repositories translate unique violations into `ConflictError` naming what clashed."""
    detail = "The change conflicts with existing data (a name already taken or a missing reference)"
    return error_response(409, detail, "conflict")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ToolhubError, _toolhub_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(IntegrityError, _integrity_error)
