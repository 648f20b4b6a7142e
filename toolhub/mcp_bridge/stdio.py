"""The stdio transport: run an MCP server as a child process and speak JSON-RPC lines over its stdin/stdout.

The bridge has its own rather than `mcp.client.stdio` because it must:
- give the child only its config's `env` plus PATH (the SDK's adds HOME, USER, SHELL, ... of the hub);
- tie the child's life to the hub's: its own process group, killed as a group on close, and on Linux
  PR_SET_PDEATHSIG, so it dies even when the hub is SIGKILLed;
- skip stdout lines that are not JSON-RPC (servers that print banners) instead of surfacing them as errors;
- keep the last stderr lines, so a crash can be explained, and cap a line's size.
It yields the same `(read_stream, write_stream)` pair as the SDK's transports.
"""

from __future__ import annotations

import asyncio
import collections
import functools
import logging
import os
import signal
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from typing import TYPE_CHECKING

import anyio

from toolhub.mcp_bridge.config import StdioServerConfig
from toolhub.mcp_bridge.errors import MCPServerConnectionError

if TYPE_CHECKING:
    from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
    from mcp.shared.message import SessionMessage

    StdioStreams = tuple[MemoryObjectReceiveStream[SessionMessage | Exception], MemoryObjectSendStream[SessionMessage]]

logger = logging.getLogger(__name__)

STOP_GRACE = 2.0
"""Seconds a server gets to exit after its stdin closes, then again after SIGTERM."""
_EXIT_POLL = 0.01
_READ_CHUNK = 1 << 16
_STDERR_TAIL = 3
_LOUD_GARBAGE_LINES = 3
_PR_SET_PDEATHSIG = 1


@asynccontextmanager
async def stdio_transport(
    config: StdioServerConfig, *, report_end: Callable[[str], None], max_message_bytes: int
) -> AsyncIterator[StdioStreams]:
    """Spawn the server; on exit stop it (stdin close, SIGTERM, SIGKILL to its group), even when cancelled.

    `report_end` is told, before the read stream ends, why the server went away.

    Raises:
        MCPServerConnectionError: the command cannot be started.
    """
    from mcp.shared.message import SessionMessage
    from mcp_types import jsonrpc_message_adapter
    from pydantic import ValidationError

    process = await _spawn(config)
    name = config.server_name
    read_writer, read_stream = anyio.create_memory_object_stream[SessionMessage | Exception](0)
    write_stream, write_reader = anyio.create_memory_object_stream[SessionMessage](0)
    stderr_tail: collections.deque[str] = collections.deque(maxlen=_STDERR_TAIL)
    stderr_done = anyio.Event()

    async def read_stdout() -> None:
        assert process.stdout is not None
        buffer = bytearray()
        ignored = 0
        async with read_writer:
            try:
                while chunk := await process.stdout.read(_READ_CHUNK):
                    scan_from = len(buffer)
                    buffer += chunk
                    while (end := buffer.find(b"\n", scan_from)) >= 0:
                        line = bytes(buffer[:end])
                        del buffer[: end + 1]
                        scan_from = 0
                        if not line.strip():
                            continue
                        try:
                            message = jsonrpc_message_adapter.validate_json(line, by_name=False)
                        except ValidationError:
                            ignored += 1
                            level = logging.WARNING if ignored <= _LOUD_GARBAGE_LINES else logging.DEBUG
                            logger.log(
                                level, "MCP server %r wrote a non-JSON-RPC line to stdout, ignored: %.200r", name, line
                            )
                            continue
                        await read_writer.send(SessionMessage(message))
                    if len(buffer) > max_message_bytes:
                        report_end(f"the server sent a message larger than {max_message_bytes} bytes")
                        return
                report_end(await describe_exit())
            except (anyio.ClosedResourceError, anyio.BrokenResourceError):
                pass  # the session closed first

    async def write_stdin() -> None:
        assert process.stdin is not None
        async with write_reader:
            try:
                async for item in write_reader:
                    process.stdin.write(
                        item.message.model_dump_json(by_alias=True, exclude_unset=True).encode() + b"\n"
                    )
                    await process.stdin.drain()
            except (BrokenPipeError, ConnectionResetError):
                pass  # the server stopped reading; its stdout ends the session

    async def read_stderr() -> None:
        assert process.stderr is not None
        try:
            while True:
                try:
                    raw = await process.stderr.readline()
                except ValueError:  # a line over the reader's limit; its start is dropped
                    continue
                if not raw:
                    return
                line = raw.decode(errors="replace").rstrip()
                stderr_tail.append(line[:300])
                logger.debug("MCP server %r stderr: %s", name, line)
        finally:
            stderr_done.set()

    async def describe_exit() -> str:
        await _wait_exit(process, timeout=1.0)
        with anyio.move_on_after(1.0):
            await stderr_done.wait()
        code = process.returncode
        if code is None:
            return "the server closed its stdout"
        how = f"was killed by signal {_signal_name(-code)}" if code < 0 else f"exited with code {code}"
        tail = f"; stderr: {' | '.join(stderr_tail)}" if stderr_tail else ""
        return f"the server process {how}{tail}"

    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(read_stdout)
            tg.start_soon(write_stdin)
            tg.start_soon(read_stderr)
            try:
                yield read_stream, write_stream
            finally:
                with anyio.CancelScope(shield=True):
                    await _stop(process, name)
                tg.cancel_scope.cancel()
    finally:
        for stream in (read_stream, write_stream):
            stream.close()


async def _spawn(config: StdioServerConfig) -> asyncio.subprocess.Process:
    env = {"PATH": os.environ.get("PATH", os.defpath), **(config.env or {})}
    try:
        return await asyncio.create_subprocess_exec(
            config.command,
            *config.args,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
            cwd=config.cwd,
            start_new_session=True,
            preexec_fn=_die_with_parent_hook(),
        )
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise MCPServerConnectionError(
            f"Cannot start MCP server {config.server_name!r} ({config.command!r}): {reason}",
            mcp_server_name=config.server_name,
        ) from None


async def _stop(process: asyncio.subprocess.Process, name: str) -> None:
    """The MCP shutdown sequence, then SIGKILL to the whole group for anything the server left behind."""
    if process.stdin is not None:
        with suppress(OSError):
            process.stdin.close()
    if not await _wait_exit(process, timeout=STOP_GRACE):
        _signal_group(process.pid, signal.SIGTERM)
        if not await _wait_exit(process, timeout=STOP_GRACE):
            logger.warning("MCP server %r (pid %d) ignored SIGTERM; killing it", name, process.pid)
    _signal_group(process.pid, signal.SIGKILL)
    await _wait_exit(process, timeout=STOP_GRACE)
    # Release the pipes now: a reader cancelled mid-stream never sees EOF, and the loop would otherwise warn
    # about an unclosed transport at exit. asyncio's Process has no public close, hence the attribute.
    transport = getattr(process, "_transport", None)
    if transport is not None:
        transport.close()


async def _wait_exit(process: asyncio.subprocess.Process, *, timeout: float) -> bool:
    """Whether the process exited in time; polls, because `wait()` also waits for every holder of its pipes."""
    with anyio.move_on_after(timeout):
        while process.returncode is None:
            await anyio.sleep(_EXIT_POLL)
    return process.returncode is not None


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return str(number)


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


@functools.cache
def _prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


def _die_with_parent_hook() -> Callable[[], None] | None:
    """A pre-exec hook arming SIGKILL for the child when the hub dies (Linux), or None elsewhere.

    The signal fires when the thread that spawned the child ends, which is the event-loop thread here.
    """
    prctl = _prctl()
    if prctl is None:
        return None
    parent = os.getpid()

    def arm() -> None:
        prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL))
        if os.getppid() != parent:  # the hub died before the signal was armed
            os._exit(1)

    return arm
