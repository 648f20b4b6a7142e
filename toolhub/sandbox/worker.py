"""A runner process seen from the server: start it, hand it calls, collect outcomes, notice when it dies.

It speaks the runner protocol over the process's stdin and stdout and knows nothing else of the process, so the
same class drives a bubblewrapped local interpreter or a `docker run -i` container.
"""

import asyncio
import collections
import itertools
import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from toolhub.sandbox.base import SandboxError, ToolInvocation
from toolhub.sandbox.wire import Outcome, cancel_frame, run_frames
from toolhub.sandbox.inside.runner import FRAME, MAX_FRAME_BYTES

logger = logging.getLogger(__name__)

READY_TIMEOUT_S = 60.0
RESPONSE_GRACE_S = 10.0
"""How long past a call's own timeout the server waits before it deems the worker hung."""
CLOSE_GRACE_S = 3.0
_STDERR_TAIL_BYTES = 4096


class WorkerError(SandboxError):
    """The worker could not start, stopped while calls were in flight, or stopped answering."""


class CallTooLargeError(SandboxError):
    """The call (source, arguments and environment) is larger than the runner accepts; it is refused here, so the
    worker and the other calls on it never see it."""


class WorkerProcess:
    """One running worker. Many calls may be in flight on it at once."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self._process = process
        self._pending: dict[int, asyncio.Future[Outcome]] = {}
        self._ids = itertools.count(1)
        self._stderr_tail: collections.deque[bytes] = collections.deque()
        self._stderr_task = asyncio.create_task(self._keep_stderr_tail())
        self._reader_task: asyncio.Task[None] | None = None
        self._stopped = False
        self.info: dict[str, Any] = {}
        """What the runner said when it was ready (pid, Python version, pydantic availability)."""

    @classmethod
    async def start(cls, command: Sequence[str], *, env: Mapping[str, str]) -> "WorkerProcess":
        """Start the worker and wait until it is ready to take calls. Raises WorkerError."""
        process = await asyncio.create_subprocess_exec(
            *command,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=dict(env),
            start_new_session=True,
        )
        return await cls.attach(process)

    @classmethod
    async def attach(cls, process: asyncio.subprocess.Process) -> "WorkerProcess":
        """Drive a runner that is already running: anything with the stdin, stdout, stderr, pid, returncode,
        wait() and kill() of an asyncio subprocess (a container's attach stream, say). Raises WorkerError."""
        worker = cls(process)
        try:
            worker.info = await asyncio.wait_for(worker._read_header(), READY_TIMEOUT_S)
        except (asyncio.IncompleteReadError, TimeoutError, ValueError) as exc:
            await worker.close()
            raise WorkerError(f"the sandbox worker did not start: {worker.stderr_tail() or exc!r}") from None
        worker._reader_task = asyncio.create_task(worker._read_outcomes())
        return worker

    @property
    def alive(self) -> bool:
        return not self._stopped and self._process.returncode is None

    @property
    def pid(self) -> int:
        return self._process.pid

    async def run(self, invocation: ToolInvocation, env: dict[str, str]) -> Outcome:
        """Run one call; its own timeout is enforced by the runner, a hung worker by this side. Raises WorkerError."""
        if not self.alive:
            raise WorkerError("the sandbox worker has stopped")
        call_id = next(self._ids)
        frames = run_frames(call_id, invocation, env)
        if len(frames) > MAX_FRAME_BYTES:
            raise CallTooLargeError(
                f"the call is {len(frames)} bytes with its arguments, over the sandbox's limit of {MAX_FRAME_BYTES}"
            )
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self._pending[call_id] = future
        try:
            await self._send(frames)
            async with asyncio.timeout(invocation.limits.timeout_s + RESPONSE_GRACE_S):
                return await future
        except TimeoutError:
            self._process.kill()
            raise WorkerError("the sandbox worker stopped responding and was replaced") from None
        except asyncio.CancelledError:
            if self.alive:
                self._process.stdin.write(cancel_frame(call_id))
            raise
        finally:
            self._pending.pop(call_id, None)

    async def close(self) -> None:
        """Ask the worker to stop (end of input), then kill it if it does not; either way every call ends."""
        self._stopped = True
        if self._process.returncode is None:
            self._process.stdin.close()
            try:
                await asyncio.wait_for(self._process.wait(), CLOSE_GRACE_S)
            except TimeoutError:
                self._process.kill()
                await self._process.wait()
        for task in (self._reader_task, self._stderr_task):
            if task is not None:
                task.cancel()
        await asyncio.gather(*(t for t in (self._reader_task, self._stderr_task) if t), return_exceptions=True)
        self._fail_pending()

    def stderr_tail(self) -> str:
        return b"".join(self._stderr_tail).decode("utf-8", errors="replace").strip()

    # ---- reading ---------------------------------------------------------------------------------------------------

    async def _send(self, data: bytes) -> None:
        try:
            self._process.stdin.write(data)
            await self._process.stdin.drain()
        except (BrokenPipeError, ConnectionResetError):
            raise self._stopped_error() from None

    async def _read_frame(self) -> bytes:
        (size,) = FRAME.unpack(await self._process.stdout.readexactly(FRAME.size))
        if size > MAX_FRAME_BYTES:
            raise ValueError(f"frame of {size} bytes from the sandbox worker")
        return await self._process.stdout.readexactly(size)

    async def _read_header(self) -> dict[str, Any]:
        return json.loads(await self._read_frame())

    async def _read_outcomes(self) -> None:
        try:
            while True:
                header = await self._read_header()
                result, stdout, stderr = [await self._read_frame() for _ in range(3)]
                future = self._pending.get(header["id"])
                if future is not None and not future.done():
                    future.set_result(Outcome(header, result, stdout, stderr))
        except (asyncio.IncompleteReadError, ValueError, KeyError):
            pass
        finally:
            self._stopped = True
            self._fail_pending()

    def _stopped_error(self) -> WorkerError:
        return WorkerError(f"the sandbox worker stopped unexpectedly: {self.stderr_tail() or 'no message'}")

    def _fail_pending(self) -> None:
        error = self._stopped_error()
        for future in self._pending.values():
            if not future.done():
                future.set_exception(error)

    async def _keep_stderr_tail(self) -> None:
        """Keep the last few KiB of the worker's own stderr to explain a failure; log it at debug level."""
        size = 0
        while chunk := await self._process.stderr.read(_STDERR_TAIL_BYTES):
            logger.debug("sandbox worker %s: %s", self._process.pid, chunk.decode(errors="replace").rstrip())
            self._stderr_tail.append(chunk)
            size += len(chunk)
            while size > _STDERR_TAIL_BYTES and len(self._stderr_tail) > 1:
                size -= len(self._stderr_tail.popleft())
