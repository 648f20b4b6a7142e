"""Map domain errors to `{"detail": ...}` responses with the right status."""

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError

from toolhub.errors import ToolhubError


async def _toolhub_error(_request: Request, exc: ToolhubError) -> JSONResponse:
    headers = dict(getattr(exc, "headers", None) or {})  # e.g. Retry-After on a 429
    if exc.status_code == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=headers or None)


async def _integrity_error(_request: Request, _exc: IntegrityError) -> JSONResponse:
    return JSONResponse({"detail": "The change conflicts with existing data (a name already taken or a missing reference)"}, status_code=409)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ToolhubError, _toolhub_error)
    app.add_exception_handler(IntegrityError, _integrity_error)
