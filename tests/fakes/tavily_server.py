"""A local Tavily search API (`POST /search`, bearer key) for `tavily-python`; answers from canned pages."""

import json
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.fakes.background import BackgroundServer


class FakeTavily:
    """Each search returns the pages whose query matches, cut to `max_results`; bodies are kept in `requests`."""

    def __init__(self, api_key: str = "tvly-fake-0123456789") -> None:
        self.api_key = api_key
        self.pages: dict[str, list[dict[str, Any]]] = {}
        self.requests: list[dict[str, Any]] = []
        self.auth: list[str] = []
        self._server = BackgroundServer(Starlette(routes=[Route("/search", self._search, methods=["POST"])]))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.port}"

    def start(self) -> "FakeTavily":
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    async def _search(self, request: Request) -> JSONResponse:
        self.auth.append(request.headers.get("authorization", ""))
        if request.headers.get("authorization") != f"Bearer {self.api_key}":
            return JSONResponse({"detail": {"error": "Unauthorized: missing or invalid API key."}}, status_code=401)
        body = json.loads(await request.body())
        self.requests.append(body)
        if body["query"] == "fail":
            return JSONResponse({"detail": {"error": "query is invalid"}}, status_code=400)
        results = self.pages.get(body["query"], [])[: body.get("max_results", 5)]
        if not body.get("include_raw_content"):
            results = [{k: v for k, v in page.items() if k != "raw_content"} for page in results]
        return JSONResponse({"query": body["query"], "results": results, "response_time": 0.01, "images": []})
