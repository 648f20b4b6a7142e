"""A deterministic OpenAI-compatible chat-completions server, so agent tests need no real model.

Tests queue `Reply`s with `FakeLLM.script(...)`; each `/v1/chat/completions` request consumes one, in order, and
gets it back as real OpenAI JSON (or as `chat.completion.chunk` SSE events with `"stream": true`). With nothing
queued it answers as a cooperative model would: the tool the request forces (or `send_message`) when a tool call
is required, else the text "OK". Every request body is recorded in `FakeLLM.requests`.
"""

import json
import time
from collections.abc import Iterator
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.fakes.background import BackgroundServer
from tests.fakes.replies import Reply, Script, error, pieces, text, tokens, tool_call, tool_calls

__all__ = ["FakeLLM", "Reply", "error", "text", "tool_call", "tool_calls"]

MODELS = ("fake-model", "fake-embedding")
"""What `GET /v1/models` lists."""

_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "invalid_request_error",
    403: "permission_error",
    404: "invalid_request_error",
    429: "rate_limit_exceeded",
}


def _error_body(status: int, message: str, code: str | None = None) -> dict[str, Any]:
    kind = _ERROR_TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


def _forced_name(body: dict[str, Any]) -> str | None:
    choice = body.get("tool_choice")
    if isinstance(choice, dict):
        return (choice.get("function") or {}).get("name")
    return None


def default_reply(body: dict[str, Any]) -> Reply:
    """What the fake answers when nothing is scripted."""
    names = [tool.get("function", {}).get("name") for tool in body.get("tools") or ()]
    forced = _forced_name(body)
    if not names or not (forced or body.get("tool_choice") == "required"):
        return text("OK")
    name = forced or ("send_message" if "send_message" in names else names[0])
    return tool_call(name, {"message": "OK"} if name == "send_message" else {})


class FakeLLM:
    """The server; `start()` it, point `OPENAI_BASE_URL` at `url` and `OPENAI_API_KEY` at `api_key`."""

    def __init__(self, api_key: str = "sk-fake-0123456789abcdef") -> None:
        self.api_key = api_key
        self._script = Script(default_reply)
        self.requests = self._script.requests
        """Every chat request body received, in order."""
        self.model_lists = 0
        """How many times `GET /v1/models` was asked (with the right key)."""
        app = Starlette(
            routes=[
                Route("/v1/chat/completions", self._chat, methods=["POST"]),
                Route("/v1/models", self._models, methods=["GET"]),
            ]
        )
        self._server = BackgroundServer(app)
        self.url = f"http://127.0.0.1:{self._server.port}/v1"

    def start(self) -> "FakeLLM":
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    def script(self, *replies: Reply) -> None:
        """Queue replies; each chat request consumes the next one."""
        self._script.add(*replies)

    def reset(self) -> None:
        """Forget queued replies and recorded requests."""
        self._script.reset()
        self.model_lists = 0

    def _refused(self, request: Request) -> Response | None:
        if request.headers.get("authorization") == f"Bearer {self.api_key}":
            return None
        message = (
            "Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys."
        )
        return JSONResponse(_error_body(401, message, "invalid_api_key"), status_code=401)

    async def _models(self, request: Request) -> Response:
        if refused := self._refused(request):
            return refused
        self.model_lists += 1
        data = [{"id": name, "object": "model", "created": 1700000000, "owned_by": "fake"} for name in MODELS]
        return JSONResponse({"object": "list", "data": data})

    async def _chat(self, request: Request) -> Response:
        if refused := self._refused(request):
            return refused
        body = await request.json()
        reply, number = self._script.take(body)
        if reply.status != 200:
            return JSONResponse(_error_body(reply.status, reply.error_message), status_code=reply.status)
        answer = _Answer(reply, body, number)
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            return StreamingResponse(_sse(answer.chunks(include_usage)), media_type="text/event-stream")
        return JSONResponse(answer.completion())


def _sse(chunks: Iterator[dict[str, Any]]) -> Iterator[str]:
    for chunk in chunks:
        yield f"data: {json.dumps(chunk)}\n\n"
    yield "data: [DONE]\n\n"


class _Answer:
    """One reply rendered for one request, as a completion or as chunks."""

    def __init__(self, reply: Reply, body: dict[str, Any], number: int) -> None:
        self.reply = reply
        self.id = f"chatcmpl-fake{number}"
        self.model = body.get("model", MODELS[0])
        self.created = int(time.time())
        self.calls = [
            {
                "id": call.id or f"call_fake_{number}_{index}",
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments},
            }
            for index, call in enumerate(reply.calls)
        ]
        prompt = tokens(json.dumps(body.get("messages", [])) + json.dumps(body.get("tools") or []))
        written = (reply.content or "") + (reply.reasoning or "") + "".join(c.name + c.arguments for c in reply.calls)
        completion = tokens(written)
        self.usage = {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
        self.finish_reason = "tool_calls" if self.calls else "stop"

    def completion(self) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": self.reply.content, "refusal": None}
        if self.reply.reasoning is not None:
            message["reasoning_content"] = self.reply.reasoning
        if self.calls:
            message["tool_calls"] = self.calls
        return {
            "id": self.id,
            "object": "chat.completion",
            "created": self.created,
            "model": self.model,
            "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": self.finish_reason}],
            "usage": self.usage,
        }

    def _chunk(self, delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        return {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [choice],
        }

    def chunks(self, include_usage: bool) -> Iterator[dict[str, Any]]:
        yield self._chunk({"role": "assistant", "content": "" if self.reply.content else None})
        for piece in pieces(self.reply.reasoning or ""):
            yield self._chunk({"reasoning_content": piece})
        for piece in pieces(self.reply.content or ""):
            yield self._chunk({"content": piece})
        for index, call in enumerate(self.calls):
            function = call["function"]
            head = {
                "index": index,
                "id": call["id"],
                "type": "function",
                "function": {"name": function["name"], "arguments": ""},
            }
            yield self._chunk({"tool_calls": [head]})
            for piece in pieces(function["arguments"]):
                yield self._chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
        yield self._chunk({}, self.finish_reason)
        if include_usage:
            yield {
                "id": self.id,
                "object": "chat.completion.chunk",
                "created": self.created,
                "model": self.model,
                "choices": [],
                "usage": self.usage,
            }
