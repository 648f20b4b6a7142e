"""Plain helpers for the MCP bridge tests: configs for the test servers, options, and waiting on state."""

import sys
from collections.abc import Callable
from pathlib import Path

import anyio

from tests.support.mcp_servers import VENV_BIN, everything_args
from toolhub.mcp_bridge import Backoff, BridgeOptions, MCPManager, MCPTimeouts, ServerState, StdioServerConfig

TEST_OPTIONS = BridgeOptions(
    timeouts=MCPTimeouts(connect=20.0, list_tools=10.0, call=10.0),
    backoff=Backoff(initial=0.1, maximum=1.0),
)


def everything(name: str, *extra: str, env: dict[str, str] | None = None) -> StdioServerConfig:
    """A stdio config for the SDK test server."""
    return StdioServerConfig(server_name=name, command=sys.executable, args=everything_args(*extra), env=env)


def time_server(name: str = "time") -> StdioServerConfig:
    return StdioServerConfig(
        server_name=name, command=str(VENV_BIN / "mcp-server-time"), args=["--local-timezone", "UTC"]
    )


async def wait_for_state(manager: MCPManager, name: str, state: ServerState, *, timeout: float = 30.0) -> None:
    """Wait until the server reports `state` (polling its status), failing after `timeout` seconds."""
    with anyio.fail_after(timeout):
        while manager.status(name).state != state:
            await anyio.sleep(0.02)


async def wait_until(predicate: Callable[[], bool], *, timeout: float = 30.0) -> None:
    with anyio.fail_after(timeout):
        while not predicate():
            await anyio.sleep(0.02)


def process_gone(pid: int) -> bool:
    """True once the process has exited (a zombie waiting to be reaped counts as exited)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    return any(line.startswith("State:") and "Z" in line.split()[1] for line in status.splitlines())


async def wait_for_description(
    manager: MCPManager, server: str, tool: str, text: str, *, timeout: float = 30.0
) -> None:
    """Wait until the cached description of `tool` contains `text` (the cache refreshes on list_changed)."""
    with anyio.fail_after(timeout):
        while text not in ({t.name: t for t in await manager.list_tools(server)}[tool].description or ""):
            await anyio.sleep(0.02)
