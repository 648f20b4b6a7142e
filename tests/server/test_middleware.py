"""An unhandled exception becomes an opaque 500 that names a request id, also written to the log."""

import logging

import httpx
from fastapi import FastAPI

from toolhub.server.middleware import CanonicalPathMiddleware, RequestLogMiddleware


def _app() -> FastAPI:
    app = FastAPI(redirect_slashes=False)

    @app.get("/v1/boom")
    async def boom() -> None:
        raise RuntimeError("secret internals")

    @app.post("/v1/echo")
    async def echo(body: dict) -> dict:
        return body

    app.add_middleware(RequestLogMiddleware)
    app.add_middleware(CanonicalPathMiddleware)
    return app


async def test_unhandled_error_is_opaque_500_with_logged_request_id(caplog):
    transport = httpx.ASGITransport(app=_app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        with caplog.at_level(logging.INFO, logger="toolhub.http"):
            response = await http.get("/latest/boom/")
    assert response.status_code == 500
    request_id = response.headers["x-request-id"]
    assert response.json() == {"detail": f"Internal server error (request id {request_id})", "code": "internal_error"}
    assert "secret internals" not in response.text and "Traceback" not in response.text
    error = next(r for r in caplog.records if r.getMessage() == "unhandled error")
    assert error.fields["request_id"] == request_id and error.exc_info
    assert any(getattr(r, "fields", {}).get("status") == 500 for r in caplog.records)


async def test_canonical_paths_keep_post_bodies():
    transport = httpx.ASGITransport(app=_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        for path in ("/v1/echo", "/v1/echo/", "/latest/echo/"):
            response = await http.post(path, json={"a": 1})
            assert response.status_code == 200 and response.json() == {"a": 1}
