"""What a tool cannot reach: the network (unless allowed), files outside its working dir, the server's secrets."""

import os
import socket
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.sandbox.helpers import REACH, tool
from toolhub.sandbox.base import Sandbox, merge_environment

CONNECT = """
def connect(port: int) -> str:
    import socket
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except OSError as exc:
        return type(exc).__name__
    return "connected"
"""


@pytest.fixture
def listener() -> Iterator[int]:
    """A TCP listener on the test process's loopback; its port."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield server.getsockname()[1]


async def test_network_is_blocked_by_default(sandbox: Sandbox, listener: int) -> None:
    result = await sandbox.run(tool(CONNECT, {"port": listener}))
    assert result.func_return == "ConnectionRefusedError"  # its own empty network namespace




def _host_addresses() -> list[str]:
    """This machine's own non-loopback IPv4 addresses (a tool must not reach the host through them either)."""
    found, previous = set(), ""
    for line in Path("/proc/net/fib_trie").read_text().splitlines():
        if "/32 host LOCAL" in line:
            found.add(previous)
        previous = line.split()[-1] if line.strip() else ""
    return sorted(address for address in found if not address.startswith("127."))


async def test_network_when_allowed_never_reaches_this_machine(sandbox: Sandbox) -> None:
    """With network granted a tool has interfaces, but loopback, this machine's own addresses and the metadata
    address are refused: a listener on every interface of the host stays out of reach."""
    with socket.socket() as server:
        server.bind(("0.0.0.0", 0))
        server.listen()
        port = server.getsockname()[1]
        targets = [["127.0.0.1", port], ["169.254.169.254", 80], *([address, port] for address in _host_addresses())]
        result = await sandbox.run(tool(REACH, {"targets": targets}, allow_network=True))
    outcomes = result.func_return
    assert [name for name in outcomes.pop("interfaces") if name != "lo"], "the network is attached"
    assert "connected" not in outcomes.values(), outcomes


async def test_writes_outside_the_working_dir_fail(sandbox: Sandbox) -> None:
    beside_repo = str(Path(__file__).resolve().parents[3] / "toolhub-sandbox-probe")
    targets = [beside_repo, "/etc/toolhub-probe", "/tmp/toolhub-probe", "{venv}/probe", __file__]
    result = await sandbox.run(
        tool(
            f"""
            def scribble() -> dict:
                import os, sys
                outcomes = {{}}
                for target in {targets!r}:
                    path = target.format(venv=sys.prefix)
                    try:
                        with open(path, "a") as handle:
                            handle.write("x")
                        outcomes[target] = "written"
                    except OSError as exc:
                        outcomes[target] = type(exc).__name__
                open("mine.txt", "w").write("fine")
                outcomes["cwd"] = open("mine.txt").read()
                return outcomes
            """
        )
    )
    outcomes = result.func_return
    assert outcomes.pop("cwd") == "fine"
    assert set(outcomes.values()) <= {"PermissionError", "OSError", "FileNotFoundError"}, outcomes
    assert not Path(beside_repo).exists()


async def test_working_dir_is_home_and_tmp(sandbox: Sandbox) -> None:
    result = await sandbox.run(
        tool(
            """
            def where() -> list:
                import os, tempfile
                with tempfile.NamedTemporaryFile() as handle:
                    scratch = os.path.dirname(handle.name)
                return [os.getcwd(), os.environ["HOME"], os.path.expanduser("~"), scratch]
            """
        )
    )
    cwd = result.func_return[0]
    assert result.func_return == [cwd, cwd, cwd, cwd]


async def test_server_secrets_never_reach_a_tool(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOOLHUB_SECRET", "toolhub-secret-value")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-secret-value")
    monkeypatch.setenv("TOOLHUB_DATABASE_URL", "postgresql://user:db-secret-value@db/toolhub")
    env = merge_environment(os.environ, {"FROM_CONFIG": "config"}, {"FROM_AGENT": "agent"}, {"FROM_CALL": "call"})
    result = await sandbox.run(
        tool(
            """
            def snoop() -> dict:
                import os
                found = []
                for pid in filter(str.isdigit, os.listdir("/proc")):
                    try:
                        found.append(open(f"/proc/{pid}/environ", "rb").read().decode(errors="replace"))
                    except OSError:
                        pass
                return {"env": dict(os.environ), "other_processes": found}
            """,
            env=env,
        )
    )
    seen = repr(result.func_return)
    for secret in ("toolhub-secret-value", "sk-test-secret-value", "db-secret-value"):
        assert secret not in seen
    visible = result.func_return["env"]
    assert {"FROM_CONFIG", "FROM_AGENT", "FROM_CALL"} <= visible.keys()
    assert not any(key.startswith(("TOOLHUB_", "LETTA_", "OPENAI_")) for key in visible)


async def test_environment_precedence_end_to_end(sandbox: Sandbox) -> None:
    env = merge_environment(
        {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "SHARED": "server"},
        {"SHARED": "config", "CONFIG_ONLY": "config"},
        {"SHARED": "agent", "AGENT_ONLY": "agent"},
        {"SHARED": "call"},
    )
    result = await sandbox.run(
        tool(
            """
            def read() -> list:
                import os
                keys = ["SHARED", "CONFIG_ONLY", "AGENT_ONLY", "LANG"]
                return [os.environ.get(k) for k in keys] + [os.environ["PATH"].split(":")[1:]]
            """,
            env=env,
        )
    )
    assert result.func_return == ["call", "config", "agent", "C.UTF-8", ["/usr/bin", "/bin"]]


async def test_the_tool_runs_in_its_virtualenv(sandbox: Sandbox) -> None:
    result = await sandbox.run(
        tool(
            """
            def which() -> list:
                import os, shutil, sys
                return [sys.prefix, os.environ["VIRTUAL_ENV"], os.path.dirname(os.path.dirname(shutil.which("python")))]
            """
        )
    )
    prefix, virtual_env, on_path = result.func_return
    assert prefix == virtual_env == on_path
    assert prefix != sys.prefix  # not the server's own environment


async def test_private_dirs_and_the_server_home_are_hidden(make_local, tmp_path: Path) -> None:
    private = tmp_path / "toolhub-home"
    private.mkdir()
    (private / "toolhub.db").write_text("api keys")
    in_home = Path.home() / f".toolhub-sandbox-test-{uuid.uuid4().hex}"
    in_home.write_text("ssh keys")
    try:
        local = make_local(private_dirs=[private])
        result = await local.run(
            tool(
                f"""
                def look() -> list:
                    import os
                    return [os.path.exists({str(private)!r}), os.path.exists({str(in_home)!r})]
                """
            )
        )
    finally:
        in_home.unlink()
    assert result.func_return == [False, False]


async def test_toolhub_is_not_importable(sandbox: Sandbox) -> None:
    result = await sandbox.run(tool("def probe():\n    import toolhub"))
    assert result.error == "Error executing function probe: ModuleNotFoundError: No module named 'toolhub'"
