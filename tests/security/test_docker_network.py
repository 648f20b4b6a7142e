"""A network granted to a Docker sandbox leads outwards only: never to this machine, its loopback-bound services,
link-local metadata or private ranges. Every probe here aims at this machine or is stopped on it, so no test
traffic leaves the machine.

Found by attacking a running server: with `network: true` a tool reached the server's own port through the bridge
gateway, PostgreSQL, and 169.254.169.254.
"""

import asyncio
import ipaddress
import socket
import subprocess
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.sandbox.helpers import REACH, tool
from tests.sandbox_docker.conftest import docker_work_dir, engine, make_docker  # noqa: F401  (fixtures)
from toolhub.sandbox.config_models import DockerSandboxConfig
from toolhub.sandbox.docker.sandbox import DockerSandbox
from toolhub.sandbox.docker.image import PYTHON
from toolhub.sandbox.docker.network import BRIDGE, FORWARD_CHAIN, INPUT_CHAIN, NETWORK, NETWORK_LABEL

if TYPE_CHECKING:
    from docker import DockerClient

NETWORK_GRANTED = DockerSandboxConfig(network=True)
METADATA = "169.254.169.254"
ATTACHED = """
def attached() -> dict:
    import os
    routes = [line.split() for line in open("/proc/net/route").read().splitlines()[1:]]
    return {
        "interfaces": sorted(os.listdir("/sys/class/net")),
        "default_route": any(fields[1] == "00000000" for fields in routes),
        "ipv6": open("/proc/sys/net/ipv6/conf/all/disable_ipv6").read().strip() == "0",
    }
"""


@pytest.fixture
def listener() -> Iterator[int]:
    """A TCP server on every address of this machine, as the toolhub server or PostgreSQL may be; its port."""
    with socket.socket() as server:
        server.bind(("0.0.0.0", 0))
        server.listen(16)
        yield server.getsockname()[1]


def host_addresses() -> list[str]:
    """Every IPv4 address of this machine: loopback, the uplink, each Docker bridge's gateway."""
    shown = subprocess.run(["ip", "-4", "-o", "addr", "show"], capture_output=True, text=True, check=True).stdout
    return sorted({line.split()[3].split("/")[0] for line in shown.splitlines()})


def gateway(engine: "DockerClient", network: str) -> str:
    config = engine.api.inspect_network(network)["IPAM"]["Config"][0]
    return config.get("Gateway") or str(ipaddress.ip_network(config["Subnet"])[1])


async def test_a_granted_network_reaches_nothing_on_this_machine_nor_metadata(
    make_docker, engine: "DockerClient", listener: int
) -> None:
    backend: DockerSandbox = make_docker()
    attached = await backend.run(tool(ATTACHED), NETWORK_GRANTED)  # also creates the network and its rules
    assert attached.status == "success", attached.error
    assert attached.func_return == {"interfaces": ["eth0", "lo"], "default_route": True, "ipv6": False}

    hosts = sorted({*host_addresses(), gateway(engine, NETWORK), gateway(engine, "bridge")})
    targets = [[host, listener] for host in hosts] + [[METADATA, 80]]
    result = await backend.run(tool(REACH, {"targets": targets}), NETWORK_GRANTED)
    assert result.status == "success", result.error
    result.func_return.pop("interfaces")
    assert len(result.func_return) == len(targets)
    assert {target: outcome for target, outcome in result.func_return.items() if outcome == "connected"} == {}


async def test_the_same_probe_on_dockers_default_bridge_connects(
    make_docker, engine: "DockerClient", listener: int
) -> None:
    """The control: unfenced, as a granted network was before, the probe above reaches this machine."""
    image = await make_docker().build_images()
    target = gateway(engine, "bridge")
    probe = f"import socket; socket.create_connection(({target!r}, {listener}), timeout=5).close(); print('connected')"
    run = partial(engine.containers.run, image, [str(PYTHON), "-c", probe], network_mode="bridge", remove=True)
    assert (await asyncio.to_thread(run)).strip() == b"connected"


async def test_the_rules_are_installed_once_however_many_servers_prepare_them(
    make_docker, engine: "DockerClient"
) -> None:
    for backend in (make_docker(), make_docker()):  # two servers, each preparing the network for its calls
        for _ in range(2):
            result = await backend.run(tool(ATTACHED), NETWORK_GRANTED)
            assert result.status == "success", result.error
    assert _rules("DOCKER-USER").count(f"-A DOCKER-USER -i {BRIDGE} -j {FORWARD_CHAIN}") == 1
    assert _rules("INPUT").count(f"-A INPUT -i {BRIDGE} -j {INPUT_CHAIN}") == 1
    forward = _rules(FORWARD_CHAIN).splitlines()[1:]  # after its -N line
    assert f"-A {FORWARD_CHAIN} -d 169.254.0.0/16 -j REJECT --reject-with icmp-admin-prohibited" in forward
    # Public egress passes: every rule names a destination, and none of them holds a public address.
    destinations = [ipaddress.ip_network(rule.split(" -d ")[1].split()[0]) for rule in forward]
    assert len(destinations) == len(forward)
    public = [ipaddress.ip_address(a) for a in ("1.1.1.1", "8.8.8.8", "140.82.112.3", "151.101.1.69", "52.94.236.248")]
    assert [(a, n) for a in public for n in destinations if a in n] == []
    (network,) = engine.api.networks(names=[NETWORK])
    assert network["Labels"] == {NETWORK_LABEL: "sandbox"}


async def test_without_iptables_a_granted_network_fails_instead_of_running_unfenced(
    make_docker, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    backend: DockerSandbox = make_docker()
    monkeypatch.setenv("PATH", str(tmp_path))  # no iptables to be found
    refused = await backend.run(tool(ATTACHED), NETWORK_GRANTED)
    assert refused.status == "error"
    assert "NetworkFenceError" in refused.error and "iptables" in refused.error
    assert (await backend.run(tool(ATTACHED))).status == "success"  # calls without a network are unaffected


def _rules(chain: str) -> str:
    return subprocess.run(["iptables", "-w", "-S", chain], capture_output=True, text=True, check=True).stdout

