"""MCP servers for the bridge's tests: the SDK-built `everything.py`, over stdio or HTTP, and mcp-proxy.

HTTP servers run as subprocesses on free loopback ports; mcp-proxy lives in its own virtualenv (it needs
`mcp` 1.x, which cannot sit beside the project's `mcp` 2.x), created once under ~/.cache/toolhub-tests/.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

EVERYTHING = Path(__file__).with_name("everything.py")
VENV_BIN = Path(sys.executable).parent
MCP_PROXY_VERSION = "0.13.0"
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "toolhub-tests"
_PATHS = {"sse": "/sse", "streamable-http": "/mcp"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def everything_args(*extra: str) -> list[str]:
    """`args` of a stdio config that runs everything.py with the test interpreter."""
    return [str(EVERYTHING), *extra]


@dataclass
class ServerProcess:
    """An MCP server listening on a loopback port."""

    process: subprocess.Popen[bytes]
    url: str

    def stop(self) -> None:
        """Kill its whole process group (mcp-proxy has a child) and reap it."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)


def start_everything(transport: str, *extra: str, port: int | None = None) -> ServerProcess:
    """everything.py over `sse` or `streamable-http`; returns once its port accepts connections."""
    port = port or free_port()
    argv = [sys.executable, str(EVERYTHING), "--transport", transport, "--port", str(port), *extra]
    return _start(argv, port, f"http://127.0.0.1:{port}{_PATHS[transport]}")


def start_mcp_proxy(command: Sequence[str]) -> ServerProcess:
    """mcp-proxy exposing a stdio server over SSE (and Streamable HTTP at /mcp)."""
    port = free_port()
    argv = [str(mcp_proxy_bin()), "--port", str(port), "--", *command]
    return _start(argv, port, f"http://127.0.0.1:{port}/sse")


def mcp_proxy_bin() -> Path:
    """The mcp-proxy executable, installing it with uv into its own cached virtualenv the first time."""
    venv = CACHE / f"mcp-proxy-{MCP_PROXY_VERSION}"
    binary = venv / "bin" / "mcp-proxy"
    if not binary.exists():
        uv = str(VENV_BIN / "uv")
        subprocess.run([uv, "venv", "--quiet", "--allow-existing", str(venv)], check=True, timeout=120)
        subprocess.run(
            [
                uv,
                "pip",
                "install",
                "--quiet",
                "--python",
                str(venv / "bin" / "python"),
                f"mcp-proxy=={MCP_PROXY_VERSION}",
            ],
            check=True,
            timeout=600,
        )
    return binary


def _start(argv: list[str], port: int, url: str) -> ServerProcess:
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    server = ServerProcess(process, url)
    deadline = time.monotonic() + 60
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return server
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                server.stop()
                raise RuntimeError(f"MCP test server did not start: {argv}") from None
            time.sleep(0.05)
