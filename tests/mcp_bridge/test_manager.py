"""The manager against real MCP servers on every transport: list, call, concurrency, lifecycle, test()."""

import json
from pathlib import Path

import anyio
import pytest

from tests.mcp_bridge.helpers import everything, process_gone, time_server, wait_for_state, wait_until
from tests.support.mcp_servers import VENV_BIN, ServerProcess
from toolhub.mcp_bridge import (
    MCPManager,
    MCPServerNameAlreadyExistsError,
    MCPServerNotFoundError,
    MCPServerUnavailableError,
    SSEServerConfig,
    StdioServerConfig,
    StreamableHTTPServerConfig,
)


async def test_mcp_server_time_over_stdio(manager: MCPManager) -> None:
    await manager.add(time_server())
    assert {tool.name for tool in await manager.list_tools("time")} == {"get_current_time", "convert_time"}
    result = await manager.call_tool("time", "get_current_time", {"timezone": "UTC"})
    assert result.status == "success"
    assert json.loads(result.text)["timezone"] == "UTC"
    assert manager.status("time").state == "healthy"
    assert manager.status("time").tool_count == 2


async def test_mcp_server_git_over_stdio(manager: MCPManager, git_repo: Path) -> None:
    await manager.add(
        StdioServerConfig(
            server_name="git", command=str(VENV_BIN / "mcp-server-git"), args=["--repository", str(git_repo)]
        )
    )
    names = {tool.name for tool in await manager.list_tools("git")}
    assert {"git_status", "git_log"} <= names
    status = await manager.call_tool("git", "git_status", {"repo_path": str(git_repo)})
    assert status.status == "success"
    assert "new.txt" in status.text
    log = await manager.call_tool("git", "git_log", {"repo_path": str(git_repo)})
    assert "first" in log.text


async def test_sdk_server_over_sse(manager: MCPManager, sse_server: ServerProcess) -> None:
    await manager.add(SSEServerConfig(server_name="sse", server_url=sse_server.url))
    assert "echo" in {tool.name for tool in await manager.list_tools("sse")}
    assert (await manager.call_tool("sse", "whoami")).text == "sse-everything"
    assert (await manager.call_tool("sse", "add", {"a": 2, "b": 40})).text == "42"


async def test_sdk_server_over_streamable_http(manager: MCPManager, http_server: ServerProcess) -> None:
    await manager.add(StreamableHTTPServerConfig(server_name="http", server_url=http_server.url))
    assert "echo" in {tool.name for tool in await manager.list_tools("http")}
    assert (await manager.call_tool("http", "whoami")).text == "http-everything"
    assert (await manager.call_tool("http", "echo", {"text": "über"})).text == "über"


async def test_mcp_server_time_behind_mcp_proxy_over_sse(
    manager: MCPManager, proxied_time_server: ServerProcess
) -> None:
    await manager.add(SSEServerConfig(server_name="proxied", server_url=proxied_time_server.url))
    assert "get_current_time" in {tool.name for tool in await manager.list_tools("proxied")}
    result = await manager.call_tool(
        "proxied", "convert_time", {"source_timezone": "UTC", "time": "12:00", "target_timezone": "Asia/Tokyo"}
    )
    assert result.status == "success"
    assert json.loads(result.text)["target"]["timezone"] == "Asia/Tokyo"


@pytest.mark.parametrize("transport", ["stdio", "sse", "streamable_http"])
async def test_many_calls_in_flight_on_one_session(
    manager: MCPManager, transport: str, sse_server: ServerProcess, http_server: ServerProcess
) -> None:
    configs = {
        "stdio": everything("many"),
        "sse": SSEServerConfig(server_name="many", server_url=sse_server.url),
        "streamable_http": StreamableHTTPServerConfig(server_name="many", server_url=http_server.url),
    }
    await manager.add(configs[transport])
    await manager.list_tools("many")
    results: dict[int, str] = {}

    async def echo(i: int) -> None:
        results[i] = (await manager.call_tool("many", "echo", {"text": f"call {i}"})).text

    async with anyio.create_task_group() as tg:
        for i in range(25):
            tg.start_soon(echo, i)
    assert results == {i: f"call {i}" for i in range(25)}


async def test_a_slow_call_does_not_hold_up_others_on_the_same_session(manager: MCPManager, tmp_path: Path) -> None:
    await manager.add(everything("mixed"))
    await manager.list_tools("mixed")
    started = tmp_path / "started"
    slow_done = anyio.Event()

    async def slow() -> None:
        await manager.call_tool("mixed", "sleep", {"seconds": 60, "started_file": str(started)})
        slow_done.set()

    async with anyio.create_task_group() as tg:
        tg.start_soon(slow)
        await wait_until(started.exists)
        assert (await manager.call_tool("mixed", "echo", {"text": "quick"})).text == "quick"
        assert not slow_done.is_set()
        tg.cancel_scope.cancel()
    assert (await manager.call_tool("mixed", "echo", {"text": "still fine"})).text == "still fine"


async def test_content_types_become_text(manager: MCPManager) -> None:
    await manager.add(everything("content"))
    image = await manager.call_tool("content", "image")
    assert image.status == "success"
    assert image.text == "[image: image/png, 69 bytes]"
    assert image.content[0]["type"] == "image" and image.content[0]["mimeType"] == "image/png"
    failed = await manager.call_tool("content", "fail", {"message": "no such city"})
    assert failed.status == "error"
    assert "no such city" in failed.text
    unknown = await manager.call_tool("content", "no_such_tool")
    assert unknown.status == "error"


async def test_add_returns_at_once_and_names_are_unique(manager: MCPManager) -> None:
    await manager.add(everything("dup", "--slow-start", "1"))
    assert manager.status("dup").state == "connecting"
    with pytest.raises(MCPServerNameAlreadyExistsError):
        await manager.add(time_server("dup"))
    assert manager.configs()["dup"] == everything("dup", "--slow-start", "1")


async def test_unknown_servers(manager: MCPManager) -> None:
    with pytest.raises(MCPServerNotFoundError):
        manager.status("nope")
    with pytest.raises(MCPServerNotFoundError):
        await manager.list_tools("nope")
    with pytest.raises(MCPServerNotFoundError):
        await manager.remove("nope")
    with pytest.raises(MCPServerNotFoundError):
        await manager.update(time_server("nope"))
    result = await manager.call_tool("nope", "x")
    assert result.status == "error" and "not configured" in result.text


async def test_identical_update_keeps_the_session_and_a_changed_one_restarts_only_that_server(
    manager: MCPManager,
) -> None:
    await manager.add(everything("a"))
    await manager.add(everything("b"))
    await manager.list_tools("a")
    await manager.list_tools("b")
    pid_a = int((await manager.call_tool("a", "pid")).text)
    pid_b = int((await manager.call_tool("b", "pid")).text)

    assert await manager.update(everything("a")) is False
    assert int((await manager.call_tool("a", "pid")).text) == pid_a

    assert await manager.update(everything("a", "--name", "renamed")) is True
    assert (await manager.call_tool("a", "whoami")).text == "renamed"
    await wait_until(lambda: process_gone(pid_a))
    assert int((await manager.call_tool("b", "pid")).text) == pid_b


async def test_remove_stops_the_server_process(manager: MCPManager) -> None:
    await manager.add(everything("gone"))
    await manager.list_tools("gone")
    pid = int((await manager.call_tool("gone", "pid")).text)
    await manager.remove("gone")
    assert "gone" not in manager.configs()
    await wait_until(lambda: process_gone(pid))


async def test_close_stops_every_server_process() -> None:
    manager = MCPManager()
    await manager.add(everything("one"))
    await manager.add(everything("two"))
    await manager.list_tools("one")
    await manager.list_tools("two")
    pids = [int((await manager.call_tool(name, "pid")).text) for name in ("one", "two")]
    await manager.close()
    assert all(process_gone(pid) for pid in pids)


async def test_resync_lists_again_and_reconnects_a_down_server(manager: MCPManager) -> None:
    await manager.add(everything("resync"))
    assert len(await manager.resync("resync")) == len(await manager.list_tools("resync"))
    await manager.add(StdioServerConfig(server_name="broken", command="/nonexistent/mcp-server"))
    await wait_for_state(manager, "broken", "unhealthy")
    with pytest.raises(MCPServerUnavailableError, match="Cannot start"):
        await manager.resync("broken")
    with pytest.raises(MCPServerUnavailableError, match="Cannot start"):
        await manager.list_tools("broken")


async def test_test_connects_lists_and_leaves_nothing_configured(
    manager: MCPManager, sse_server: ServerProcess
) -> None:
    tools = await manager.test(time_server("probe"))
    assert {tool.name for tool in tools} == {"get_current_time", "convert_time"}
    tools = await manager.test(SSEServerConfig(server_name="probe", server_url=sse_server.url))
    assert "echo" in {tool.name for tool in tools}
    assert manager.configs() == {}
