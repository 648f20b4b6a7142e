"""A local E2B: the control plane (`/v2/sandboxes`, timeout, connect, kill) and the code interpreter's
`POST /execute` stream, on one port, for `e2b-code-interpreter` with `api_url` and `sandbox_url` pointing here.

Sandbox traffic is told apart by the `E2b-Sandbox-Id` header the SDK sends with `sandbox_url`. Python runs in a
subprocess per execution (the last expression is the result, as in Jupyter). Of envd's Connect-RPC services only
`process.Process/Start` (what `commands.run` calls, JSON codec) is here, and it runs nothing: it records the command
and answers `pip install` with success unless a package is in `FakeE2B.broken`. Left out: the rest of envd (files,
stdin, signals), pause/resume, metrics, templates.
"""

import asyncio
import base64
import json
import shlex
import struct
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.fakes.background import BackgroundServer

ENVD_VERSION = "0.5.7"

_CELL = r'''
import ast, json, sys, traceback
out = sys.argv[1]
tree = ast.parse(sys.stdin.read())
last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
ns = {"__name__": "__main__"}
try:
    exec(compile(tree, "<cell>", "exec"), ns)
    value = eval(compile(ast.Expression(last.value), "<cell>", "eval"), ns) if last is not None else None
    answer = {"result": None if value is None else repr(value)}
except Exception as exc:
    answer = {"error": {"name": type(exc).__name__, "value": str(exc), "traceback": traceback.format_exc()}}
with open(out, "w") as f:
    json.dump(answer, f)
'''


@dataclass
class FakeSandbox:
    id: str
    template: str
    metadata: dict[str, str]
    timeout: int
    alive: bool = True
    timeouts: list[int] = field(default_factory=list)
    executions: list[dict[str, Any]] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)


class FakeE2B:
    """`sandboxes` holds every sandbox ever created; `die(id)` makes one vanish as an expired sandbox does."""

    def __init__(self, api_key: str = "e2b_" + "0" * 40) -> None:
        self.api_key = api_key
        self.sandboxes: dict[str, FakeSandbox] = {}
        self.tokens: dict[str, str] = {}
        self.broken: set[str] = set()
        """Packages `pip install` fails on."""
        routes = [
            Route("/v2/sandboxes", self._create, methods=["POST"]),
            Route("/v2/sandboxes/{sid}/connect", self._connect, methods=["POST"]),
            Route("/sandboxes/{sid}/timeout", self._timeout, methods=["POST"]),
            Route("/sandboxes/{sid}", self._kill, methods=["DELETE"]),
            Route("/execute", self._execute, methods=["POST"]),
            Route("/process.Process/Start", self._start_process, methods=["POST"]),
        ]
        self._server = BackgroundServer(Starlette(routes=routes))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.port}"

    def start(self) -> "FakeE2B":
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    def die(self, sandbox_id: str) -> None:
        self.sandboxes[sandbox_id].alive = False

    def alive(self) -> list[FakeSandbox]:
        return [box for box in self.sandboxes.values() if box.alive]

    # -- control plane ------------------------------------------------------------------------------------------

    def _authorised(self, request: Request) -> bool:
        return request.headers.get("x-api-key") == self.api_key

    def _record(self, box: FakeSandbox) -> dict[str, Any]:
        return {
            "templateID": box.template, "sandboxID": box.id, "clientID": "fake", "envdVersion": ENVD_VERSION,
            "envdAccessToken": self.tokens[box.id],
        }

    async def _create(self, request: Request) -> Response:
        if not self._authorised(request):
            return JSONResponse({"code": 401, "message": "Invalid API key"}, status_code=401)
        body = await request.json()
        box = FakeSandbox(
            id=f"sbx{uuid.uuid4().hex[:12]}", template=body.get("templateID", "code-interpreter-v1"),
            metadata=body.get("metadata") or {}, timeout=body.get("timeout", 300),
        )
        self.sandboxes[box.id] = box
        self.tokens[box.id] = uuid.uuid4().hex
        return JSONResponse(self._record(box), status_code=201)

    async def _connect(self, request: Request) -> Response:
        box = self.sandboxes.get(request.path_params["sid"])
        if not self._authorised(request):
            return JSONResponse({"code": 401, "message": "Invalid API key"}, status_code=401)
        if box is None or not box.alive:
            return JSONResponse({"code": 404, "message": "sandbox not found"}, status_code=404)
        return JSONResponse(self._record(box), status_code=200)

    async def _timeout(self, request: Request) -> Response:
        box = self.sandboxes.get(request.path_params["sid"])
        if box is None or not box.alive:
            return JSONResponse({"code": 404, "message": "sandbox not found"}, status_code=404)
        box.timeouts.append((await request.json())["timeout"])
        return Response(status_code=204)

    async def _kill(self, request: Request) -> Response:
        box = self.sandboxes.get(request.path_params["sid"])
        if box is None or not box.alive:
            return JSONResponse({"code": 404, "message": "sandbox not found"}, status_code=404)
        box.alive = False
        return Response(status_code=204)

    # -- code interpreter ---------------------------------------------------------------------------------------

    async def _execute(self, request: Request) -> Response:
        box = self.sandboxes.get(request.headers.get("e2b-sandbox-id", ""))
        if box is None or not box.alive:
            return Response("The sandbox was not found", status_code=502)
        if request.headers.get("x-access-token") != self.tokens[box.id]:
            return Response("Unauthorized", status_code=401)
        body = await request.json()
        box.executions.append(body)
        if body.get("language") not in (None, "python"):
            return Response(f"language {body['language']!r} is not available", status_code=400)
        lines = await asyncio.to_thread(_run_cell, body["code"], body.get("env_vars") or {})
        return StreamingResponse(iter(line + "\n" for line in lines), media_type="application/x-ndjson")

    async def _start_process(self, request: Request) -> Response:
        box = self.sandboxes.get(request.headers.get("e2b-sandbox-id", ""))
        if box is None or not box.alive:
            return Response("The sandbox was not found", status_code=502)
        if request.headers.get("x-access-token") != self.tokens[box.id]:
            return Response("Unauthorized", status_code=401)
        body = await request.body()
        (length,) = struct.unpack(">I", body[1:5])
        process = json.loads(body[5 : 5 + length])["process"]
        command = process["args"][-1]
        box.commands.append(command)
        frames = [_envelope(event) for event in _process_events(command, self.broken)] + [_envelope({}, flags=2)]
        return Response(b"".join(frames), media_type="application/connect+json")


def _run_cell(code: str, envs: dict[str, str]) -> list[str]:
    """The cell's stdout, stderr, result or error as the code interpreter's JSON lines."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "answer.json"
        done = subprocess.run(
            [sys.executable, "-c", _CELL, str(out)], input=code, capture_output=True, text=True,
            env={"PATH": "/usr/bin:/bin", **envs}, timeout=60,
        )
        answer = json.loads(out.read_text()) if out.exists() else {"error": {
            "name": "KernelDied", "value": done.stderr, "traceback": done.stderr}}
    now = time.time()
    lines = [json.dumps({"type": kind, "text": text, "timestamp": now})
             for kind, text in (("stdout", done.stdout), ("stderr", done.stderr)) if text]
    if "error" in answer:
        lines.append(json.dumps({"type": "error", **answer["error"]}))
    elif answer["result"] is not None:
        lines.append(json.dumps({"type": "result", "text": answer["result"], "is_main_result": True}))
    lines.append(json.dumps({"type": "end_of_execution"}))
    return lines


def _envelope(message: dict[str, Any], flags: int = 0) -> bytes:
    """One Connect streaming frame: flags, big-endian length, JSON body."""
    data = json.dumps(message).encode()
    return struct.pack(">BI", flags, len(data)) + data


def _process_events(command: str, broken: set[str]) -> list[dict[str, Any]]:
    words = shlex.split(command)
    failed = sorted(set(words[2:]) & broken) if words[:2] == ["pip", "install"] else []
    output = f"ERROR: No matching distribution found for {failed[0]}\n" if failed else "Successfully installed\n"
    stream = "stderr" if failed else "stdout"
    code = 1 if failed else 0
    return [
        {"event": {"start": {"pid": 1}}},
        {"event": {"data": {stream: base64.b64encode(output.encode()).decode()}}},
        {"event": {"end": {"exitCode": code, "exited": True, "status": f"exit status {code}"}}},
    ]
