"""Fixtures for the MCP bridge tests: a manager with short timeouts and real MCP servers."""

import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.mcp_bridge.helpers import TEST_OPTIONS
from tests.support.mcp_servers import VENV_BIN, ServerProcess, start_everything, start_mcp_proxy
from toolhub.mcp_bridge import MCPManager


@pytest.fixture
async def manager() -> AsyncIterator[MCPManager]:
    async with MCPManager(TEST_OPTIONS) as manager:
        yield manager


@pytest.fixture(scope="session")
def sse_server() -> Iterator[ServerProcess]:
    server = start_everything("sse", "--name", "sse-everything")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def http_server() -> Iterator[ServerProcess]:
    server = start_everything("streamable-http", "--name", "http-everything")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def proxied_time_server() -> Iterator[ServerProcess]:
    """mcp-server-time behind mcp-proxy (from PyPI, in its own virtualenv), over SSE."""
    server = start_mcp_proxy([str(VENV_BIN / "mcp-server-time"), "--local-timezone", "UTC"])
    yield server
    server.stop()


@pytest.fixture
def git_repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    subprocess.run([*git, "init", "--quiet", str(repo)], check=True)
    (repo / "README.md").write_text("hello\n")
    subprocess.run([*git, "-C", str(repo), "add", "README.md"], check=True)
    subprocess.run([*git, "-C", str(repo), "commit", "--quiet", "-m", "first"], check=True)
    (repo / "new.txt").write_text("untracked\n")
    return repo
