"""What a tool in a Docker sandbox cannot do: reach the network or the server, write outside its working
directory, keep privileges, or see the call's secrets from outside the container."""

import errno
import ipaddress
import json
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.sandbox.helpers import REACH, tool
from tests.sandbox_docker.conftest import containers_of, unique_owner
from toolhub.sandbox.base import SandboxLimits
from toolhub.sandbox.config_models import DockerSandboxConfig
from toolhub.sandbox.docker.sandbox import DockerSandbox
from toolhub.sandbox.docker.network import NETWORK

if TYPE_CHECKING:
    from docker import DockerClient



@pytest.fixture
def server_port() -> Iterator[int]:
    """A TCP listener on every address of this machine, as a server that binds 0.0.0.0 would be; its port."""
    with socket.socket() as server:
        server.bind(("0.0.0.0", 0))
        server.listen()
        yield server.getsockname()[1]


def bridge_gateway(engine: "DockerClient") -> str:
    """The host's address on Docker's default bridge: the way a container with a network reaches the server."""
    config = engine.api.inspect_network("bridge")["IPAM"]["Config"][0]
    return config.get("Gateway") or str(ipaddress.ip_network(config["Subnet"])[1])


async def test_no_network_reaches_neither_the_server_nor_anything(
    sandbox: DockerSandbox, engine: "DockerClient", server_port: int
) -> None:
    targets = [["127.0.0.1", server_port], [bridge_gateway(engine), server_port]]
    result = await sandbox.run(tool(REACH, {"targets": targets}))
    outcomes = result.func_return
    assert outcomes.pop("interfaces") == ["lo"]
    assert outcomes == {
        f"127.0.0.1:{server_port}": "ConnectionRefusedError",  # the container's own, empty loopback
        f"{bridge_gateway(engine)}:{server_port}": "OSError",  # no route: there is no interface to leave by
    }


async def test_an_allowed_network_is_a_fenced_bridge_not_the_hosts_loopback(
    sandbox: DockerSandbox, server_port: int
) -> None:
    """What the fence keeps out is tested in tests/security/test_docker_network.py."""
    result = await sandbox.run(tool(REACH, {"targets": [["127.0.0.1", server_port]]}, allow_network=True))
    assert result.func_return == {"interfaces": ["eth0", "lo"], f"127.0.0.1:{server_port}": "ConnectionRefusedError"}


async def test_a_sandbox_config_can_allow_the_network(sandbox: DockerSandbox) -> None:
    result = await sandbox.run(tool(REACH, {"targets": []}), DockerSandboxConfig(network=True))
    assert result.func_return == {"interfaces": ["eth0", "lo"]}


async def test_nothing_outside_the_working_dir_is_writable(sandbox: DockerSandbox, tmp_path: Path) -> None:
    """Try to create a file in every directory the tool can list, and in the read-only sandbox_dir."""
    tmp_path.chmod(0o777)  # even a directory the host lets everyone write stays read-only inside
    result = await sandbox.run(
        tool(
            f"""
            def scribble() -> dict:
                import os
                home = os.getcwd()
                written, refused = [], 0
                for top in ("/", home, {str(tmp_path)!r}):
                    for root, dirs, _ in os.walk(top):
                        dirs[:] = [d for d in dirs if os.path.join(root, d) not in ("/proc", "/sys")]
                        try:
                            with open(os.path.join(root, ".toolhub-probe"), "x") as handle:
                                handle.write("x")
                            written.append(root)
                        except OSError:
                            refused += 1
                return {{"home": home, "written": written, "refused": refused}}
            """,
            sandbox_dir=tmp_path,
        )
    )
    outcome = result.func_return
    assert outcome["written"] == [outcome["home"]]
    assert outcome["refused"] > 500  # it did look everywhere
    assert not (tmp_path / ".toolhub-probe").exists()


async def test_the_tool_runs_as_an_unprivileged_uid_without_capabilities(sandbox: DockerSandbox) -> None:
    result = await sandbox.run(
        tool(
            """
            def who() -> dict:
                import os
                status = dict(line.split(":\\t", 1) for line in open("/proc/self/status").read().splitlines())
                return {"uid": os.getuid(), "euid": os.geteuid(), "gid": os.getgid(), "groups": os.getgroups(),
                        "effective": status["CapEff"].strip(), "permitted": status["CapPrm"].strip(),
                        "no_new_privs": status["NoNewPrivs"].strip(), "shm": os.path.exists("/dev/shm"),
                        "seccomp_filters": int(status["Seccomp_filters"])}
            """
        )
    )
    who = result.func_return
    assert who["uid"] == who["euid"] == who["gid"] > 0
    assert who["groups"] == []
    assert (who["effective"], who["permitted"], who["no_new_privs"]) == ("0" * 16, "0" * 16, "1")
    assert who["shm"] is False
    assert who["seccomp_filters"] >= 2  # the engine's default profile, and the runner's own filter on top


async def test_env_vars_reach_the_tool_but_not_docker_inspect(make_docker, engine: "DockerClient") -> None:
    owner = unique_owner()
    backend: DockerSandbox = make_docker(owner=owner)
    secret = f"secret-{uuid.uuid4().hex}"
    result = await backend.run(
        tool(
            "def read() -> list:\n    import os, socket\n    return [os.environ['API_TOKEN'], socket.gethostname()]",
            env={"API_TOKEN": secret},
        )
    )
    seen, hostname = result.func_return
    assert seen == secret
    (ran_it,) = [c for c in containers_of(engine, owner) if c.startswith(hostname)]  # still warm in the pool
    assert secret not in json.dumps(engine.api.inspect_container(ran_it))


async def test_containers_are_hardened(make_docker, engine: "DockerClient", tmp_path: Path) -> None:
    owner = unique_owner()
    backend: DockerSandbox = make_docker(owner=owner)
    config = DockerSandboxConfig(cpus=0.5, pids_limit=32, tmp_mb=16)
    name = tool(
        "def name():\n    import socket\n    return socket.gethostname()",
        sandbox_dir=tmp_path,
        limits=SandboxLimits(memory_mb=200),
    )
    hostname = (await backend.run(name, config)).func_return
    (ran_it,) = [c for c in containers_of(engine, owner) if c.startswith(hostname)]
    host = engine.api.inspect_container(ran_it)["HostConfig"]
    assert host["NetworkMode"] == "none"
    assert host["ReadonlyRootfs"] is True
    assert host["CapDrop"] == ["ALL"]
    assert host["SecurityOpt"] == ["no-new-privileges"]
    assert host["Privileged"] is False
    assert host["IpcMode"] == "none"
    assert host["LogConfig"]["Type"] == "none"
    assert host["Binds"] == [f"{tmp_path}:{tmp_path}:ro"]
    assert "size=16m" in host["Tmpfs"]["/tmp"]
    assert host["NanoCpus"] == 500_000_000
    assert host["Memory"] > 200 * 1024 * 1024  # the call's 200 MB plus the runner's headroom
    assert host["PidsLimit"] > 32  # the call's 32 processes plus the runner's
    assert host["Ulimits"] == [{"Name": "msgqueue", "Soft": 0, "Hard": 0}]


async def test_no_posix_message_queue_outlives_a_call(sandbox: DockerSandbox) -> None:
    """A queue would survive its call in the container's IPC namespace, for the next call of the slot to read."""
    result = await sandbox.run(
        tool(
            """
            def queue() -> int:
                import ctypes, os
                try:
                    mq_open = ctypes.CDLL(None, use_errno=True).mq_open
                except AttributeError:  # glibc before 2.34 keeps it in librt
                    mq_open = ctypes.CDLL("librt.so.1", use_errno=True).mq_open
                if mq_open(b"/toolhub-probe", os.O_CREAT | os.O_RDWR, 0o600, None) >= 0:
                    return 0
                return ctypes.get_errno()
            """
        )
    )
    assert result.func_return == errno.EMFILE  # RLIMIT_MSGQUEUE is 0: no queue can be made


async def test_a_granted_network_is_the_fenced_one_without_ipv6(make_docker, engine: "DockerClient") -> None:
    owner = unique_owner()
    backend: DockerSandbox = make_docker(owner=owner)
    name = tool("def name():\n    import socket\n    return socket.gethostname()")
    hostname = (await backend.run(name, DockerSandboxConfig(network=True))).func_return
    (ran_it,) = [c for c in containers_of(engine, owner) if c.startswith(hostname)]
    host = engine.api.inspect_container(ran_it)["HostConfig"]
    assert host["NetworkMode"] == NETWORK
    assert host["Sysctls"] == {"net.ipv6.conf.all.disable_ipv6": "1", "net.ipv6.conf.default.disable_ipv6": "1"}
