"""The config-file watcher: applies `mcp_config.json` edits without dropping healthy sessions."""

import json
import sys
from pathlib import Path
from typing import Any

from tests.mcp_bridge.helpers import everything, process_gone, time_server, wait_for_state, wait_until
from tests.support.mcp_servers import everything_args
from toolhub.mcp_bridge import ConfigWatcher, MCPManager


def entry(*extra: str, **fields: Any) -> dict[str, Any]:
    return {"command": sys.executable, "args": everything_args(*extra), **fields}


def write(path: Path, servers: dict[str, Any]) -> None:
    path.write_text(json.dumps({"mcpServers": servers}))


async def pid_of(manager: MCPManager, name: str) -> int:
    return int((await manager.call_tool(name, "pid")).text)


async def test_broken_entries_are_reported_by_name_and_the_rest_load(manager: MCPManager, tmp_path: Path) -> None:
    path = tmp_path / "mcp_config.json"
    write(path, {"good": entry(), "needs_env": entry(env={"TOKEN": "${NOT_SET_FOR_TEST}"}), "typo": {"comand": "x"}})
    watcher = ConfigWatcher(manager, path, environ={})
    errors = dict(await watcher.sync())
    assert set(errors) == {"needs_env", "typo"}
    assert set(manager.configs()) == {"good"}
    await wait_for_state(manager, "good", "healthy")


async def test_edits_are_applied_without_restarting_unchanged_servers(manager: MCPManager, tmp_path: Path) -> None:
    path = tmp_path / "mcp_config.json"
    write(path, {"keep": entry(), "change": entry(), "drop": entry()})
    watcher = ConfigWatcher(manager, path, environ={})
    assert await watcher.sync() == []
    pids = {name: await pid_of(manager, name) for name in ("keep", "change", "drop")}

    write(path, {"keep": entry(), "change": entry("--name", "changed"), "new": entry("--name", "new")})
    assert await watcher.sync() == []
    assert set(manager.configs()) == {"keep", "change", "new"}
    assert await pid_of(manager, "keep") == pids["keep"]
    assert (await manager.call_tool("change", "whoami")).text == "changed"
    assert (await manager.call_tool("new", "whoami")).text == "new"
    await wait_until(lambda: process_gone(pids["drop"]) and process_gone(pids["change"]))


async def test_a_broken_file_or_entry_keeps_healthy_sessions(manager: MCPManager, tmp_path: Path) -> None:
    path = tmp_path / "mcp_config.json"
    write(path, {"steady": entry(), "other": entry()})
    watcher = ConfigWatcher(manager, path, environ={})
    await watcher.sync()
    pid = await pid_of(manager, "steady")

    path.write_text('{"mcpServers": {"steady": ')
    errors = await watcher.sync()
    assert len(errors) == 1 and errors[0][0] == str(path)
    write(path, {"steady": {"command": sys.executable, "env": {"K": "${MISSING}"}}, "other": entry()})
    assert [name for name, _ in await watcher.sync()] == ["steady"]

    assert set(manager.configs()) == {"steady", "other"}
    assert await pid_of(manager, "steady") == pid
    assert manager.status("steady").state == "healthy"


async def test_servers_added_elsewhere_are_left_alone(manager: MCPManager, tmp_path: Path) -> None:
    await manager.add(time_server("api-added"))
    path = tmp_path / "mcp_config.json"
    write(path, {"api-added": entry()})
    watcher = ConfigWatcher(manager, path, environ={})
    assert [name for name, _ in await watcher.sync()] == ["api-added"]
    write(path, {})
    await watcher.sync()
    assert manager.configs()["api-added"] == time_server("api-added")


async def test_the_watcher_polls_the_file(manager: MCPManager, tmp_path: Path) -> None:
    path = tmp_path / "mcp_config.json"
    async with ConfigWatcher(manager, path, interval=0.05, environ={}):
        assert manager.configs() == {}
        write(path, {"polled": entry()})
        await wait_until(lambda: "polled" in manager.configs())
        assert manager.configs()["polled"] == everything("polled")
        path.unlink()
        await wait_until(lambda: manager.configs() == {})
