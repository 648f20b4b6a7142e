"""The runner in a container, driven by the same `WorkerProcess` as a local runner, over the engine's attach stream.

The engine's attach endpoint hands over the raw connection: bytes written go to the container's stdin, and what
the container writes comes back multiplexed (an 8-byte header per chunk says stdout or stderr, and its length).
`ContainerProcess` demultiplexes that into the stdin/stdout/stderr/wait/kill surface of an asyncio subprocess,
which is all `WorkerProcess` uses. Calls, and the environment variables in them, travel only on this stream.
"""

import asyncio
import os
import socket
from collections.abc import Callable
from typing import Any

from toolhub.sandbox.docker.engine import DockerSandboxError

_HEADER_BYTES = 8
_STDERR = 2
EXIT_UNKNOWN = -1
"""The attach stream ends when the container's process does, but does not carry its exit status."""


def take_socket(attached: Any) -> socket.socket:
    """A socket of our own for the connection the SDK's `attach_socket` returned; the SDK's objects may go.

    Only a plain connection (the local Unix socket, or TCP without TLS) can be handed to asyncio this way.
    """
    if not isinstance(attached, socket.SocketIO):
        raise DockerSandboxError(
            "the Docker sandbox needs the engine on a Unix socket or plain TCP; TLS and SSH hosts are not supported"
        )
    return socket.socket(fileno=os.dup(attached.fileno()))


class _Stdin:
    """The container's stdin; closing it closes only our sending half, so what the container still says arrives."""

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self._writer = writer

    def write(self, data: bytes) -> None:
        self._writer.write(data)

    async def drain(self) -> None:
        await self._writer.drain()

    def close(self) -> None:
        if not self._writer.is_closing() and self._writer.can_write_eof():
            self._writer.write_eof()


class ContainerProcess:
    """A container's main process as `asyncio.subprocess.Process` looks to `WorkerProcess`."""

    pid = 0
    """Only for log lines: the runner's pid lives in the container's namespace, not in this server's."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.stdin = _Stdin(writer)
        self.stdout = asyncio.StreamReader()
        self.stderr = asyncio.StreamReader()
        self.returncode: int | None = None
        self._writer = writer
        self._pump = asyncio.create_task(self._demultiplex(reader))

    @classmethod
    async def connect(cls, sock: socket.socket) -> "ContainerProcess":
        reader, writer = await asyncio.open_connection(sock=sock)
        return cls(reader, writer)

    def kill(self) -> None:
        """Drop the connection: the container loses its stdin and stops (the pool removes it in any case)."""
        self._writer.transport.abort()

    async def wait(self) -> int:
        await asyncio.shield(self._pump)
        return EXIT_UNKNOWN

    def on_exit(self, callback: Callable[[], None]) -> None:
        """Call `callback` once the container's process has ended (at once if it already has)."""
        self._pump.add_done_callback(lambda _: callback())

    async def _demultiplex(self, reader: asyncio.StreamReader) -> None:
        try:
            while True:
                header = await reader.readexactly(_HEADER_BYTES)
                data = await reader.readexactly(int.from_bytes(header[4:], "big"))
                (self.stderr if header[0] == _STDERR else self.stdout).feed_data(data)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # the container's process ended, or we dropped the connection
        finally:
            self.returncode = EXIT_UNKNOWN
            self.stdout.feed_eof()
            self.stderr.feed_eof()
            self._writer.close()
