"""A deterministic fake of Anthropic's Messages API (`POST /v1/messages`, plain and streamed; `GET /v1/models`).

It answers the same scripted `Reply`s as the OpenAI fake, rendered as Anthropic content blocks: reasoning as a
`thinking` block, text as a `text` block, tool calls as `tool_use` blocks; streams use Anthropic's named SSE
events. Point the `anthropic` SDK (or `ANTHROPIC_BASE_URL`) at `url`, with `api_key`.
"""

import json
from collections.abc import Iterator
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.fakes.background import BackgroundServer
from tests.fakes.replies import Reply, Script, pieces, text, tokens

MODELS = ("claude-fake-1", "claude-fake-2")
_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    429: "rate_limit_error",
    529: "overloaded_error",
}


def _error(status: int, message: str) -> JSONResponse:
    kind = _ERROR_TYPES.get(status, "api_error")
    return JSONResponse({"type": "error", "error": {"type": kind, "message": message}}, status_code=status)


class FakeAnthropic:
    """The server; `start()` it, then talk to `url` with `api_key`."""

    def __init__(self, api_key: str = "sk-ant-fake-0123456789") -> None:
        self.api_key = api_key
        self._script = Script(lambda body: text("OK"))
        self.requests = self._script.requests
        """Every `/v1/messages` request body received, in order."""
        app = Starlette(
            routes=[
                Route("/v1/messages", self._messages, methods=["POST"]),
                Route("/v1/models", self._models, methods=["GET"]),
            ]
        )
        self._server = BackgroundServer(app)
        self.url = f"http://127.0.0.1:{self._server.port}"

    def start(self) -> "FakeAnthropic":
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    def script(self, *replies: Reply) -> None:
        self._script.add(*replies)

    def reset(self) -> None:
        self._script.reset()

    def _authorized(self, request: Request) -> bool:
        """The key as `x-api-key` (older SDKs, curl) or as a bearer token (anthropic 2.x)."""
        given = request.headers.get("x-api-key") or request.headers.get("authorization", "").removeprefix("Bearer ")
        return given == self.api_key

    async def _models(self, request: Request) -> Response:
        if not self._authorized(request):
            return _error(401, "invalid x-api-key")
        data = [
            {"type": "model", "id": name, "display_name": name, "created_at": "2025-01-01T00:00:00Z"} for name in MODELS
        ]
        return JSONResponse({"data": data, "has_more": False, "first_id": MODELS[0], "last_id": MODELS[-1]})

    async def _messages(self, request: Request) -> Response:
        if not self._authorized(request):
            return _error(401, "invalid x-api-key")
        body = await request.json()
        reply, number = self._script.take(body)
        if reply.status != 200:
            return _error(reply.status, reply.error_message)
        message = _Message(reply, body, number)
        if body.get("stream"):
            return StreamingResponse(message.events(), media_type="text/event-stream")
        return JSONResponse(message.whole())


class _Message:
    """One reply rendered as an Anthropic message, whole or as stream events."""

    def __init__(self, reply: Reply, body: dict[str, Any], number: int) -> None:
        self.id = f"msg_fake{number}"
        self.model = body.get("model", MODELS[0])
        self.blocks: list[dict[str, Any]] = []
        if reply.reasoning:
            self.blocks.append({"type": "thinking", "thinking": reply.reasoning, "signature": f"sig{number}"})
        if reply.content:
            self.blocks.append({"type": "text", "text": reply.content})
        for index, call in enumerate(reply.calls):
            call_id = call.id or f"toolu_fake_{number}_{index}"
            self.blocks.append(
                {"type": "tool_use", "id": call_id, "name": call.name, "input": json.loads(call.arguments)}
            )
        prompt = json.dumps(body.get("system", "")) + json.dumps(body.get("messages", []))
        self.usage = {
            "input_tokens": tokens(prompt + json.dumps(body.get("tools", []))),
            "output_tokens": tokens(json.dumps(self.blocks)),
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
        }
        self.stop_reason = "tool_use" if reply.calls else "end_turn"

    def whole(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": self.blocks,
            "stop_reason": self.stop_reason,
            "stop_sequence": None,
            "usage": self.usage,
        }

    def events(self) -> Iterator[str]:
        start = self.whole() | {"content": [], "stop_reason": None, "usage": self.usage | {"output_tokens": 1}}
        yield _event("message_start", {"message": start})
        yield _event("ping", {})
        for index, block in enumerate(self.blocks):
            yield from _block_events(index, block)
        yield _event(
            "message_delta",
            {
                "delta": {"stop_reason": self.stop_reason, "stop_sequence": None},
                "usage": {"output_tokens": self.usage["output_tokens"]},
            },
        )
        yield _event("message_stop", {})


def _block_events(index: int, block: dict[str, Any]) -> Iterator[str]:
    kind = block["type"]
    if kind == "thinking":
        yield _event(
            "content_block_start", {"index": index, "content_block": block | {"thinking": "", "signature": ""}}
        )
        for piece in pieces(block["thinking"]):
            yield _event(
                "content_block_delta", {"index": index, "delta": {"type": "thinking_delta", "thinking": piece}}
            )
        signature = {"type": "signature_delta", "signature": block["signature"]}
        yield _event("content_block_delta", {"index": index, "delta": signature})
    elif kind == "text":
        yield _event("content_block_start", {"index": index, "content_block": {"type": "text", "text": ""}})
        for piece in pieces(block["text"]):
            yield _event("content_block_delta", {"index": index, "delta": {"type": "text_delta", "text": piece}})
    else:
        yield _event("content_block_start", {"index": index, "content_block": block | {"input": {}}})
        for piece in pieces(json.dumps(block["input"])):
            delta = {"type": "input_json_delta", "partial_json": piece}
            yield _event("content_block_delta", {"index": index, "delta": delta})
    yield _event("content_block_stop", {"index": index})


def _event(name: str, data: dict[str, Any]) -> str:
    return f"event: {name}\ndata: {json.dumps({'type': name} | data)}\n\n"
