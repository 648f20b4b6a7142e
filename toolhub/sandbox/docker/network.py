"""The one Docker network that sandbox containers granted a network join, fenced so that it leads only outwards.

On Docker's default bridge a tool reaches whatever the host reaches: the server's own port, PostgreSQL, the cloud's
metadata service at 169.254.169.254, the LAN. Containers granted a network join `NETWORK` instead, a bridge that
toolhub creates (labelled, its containers unable to talk to each other), and firewall rules on this machine reject
everything that comes in over its bridge and is not bound for a public address:

- to the host itself, by any of its addresses (the bridge gateway included): chain TOOLHUB-DOCKER-IN, from INPUT;
- to loopback, link-local (metadata), private, shared, documentation, reserved and multicast ranges: chain
  TOOLHUB-DOCKER-FWD, from DOCKER-USER, which Docker keeps first in FORWARD and leaves alone across its restarts;
- except DNS (port 53) to the host's own upstream resolvers, which Docker's embedded DNS asks from inside the
  container, so that names still resolve.

IPv6 stays off in those containers (the network has none, and a sysctl disables it where only NET_ADMIN could
undo it). The rules are rewritten atomically before every networked container starts, so a restart, a second server
or a flushed firewall leaves them whole; when they cannot be installed (no iptables, not root, an engine on another
machine) the call fails with `NetworkFenceError` rather than run unfenced.
"""

from pathlib import Path
from typing import TYPE_CHECKING

from toolhub.sandbox import firewall
from toolhub.sandbox.docker.engine import DockerSandboxError, call

if TYPE_CHECKING:
    from docker import DockerClient

NETWORK = "toolhub-sandbox-net"
BRIDGE = "toolhub-sbx0"
"""The bridge's interface name on the host, which the rules match (at most 15 characters)."""
NETWORK_LABEL = "org.toolhub.network"
FORWARD_CHAIN = "TOOLHUB-DOCKER-FWD"
INPUT_CHAIN = "TOOLHUB-DOCKER-IN"
CONTAINER_SYSCTLS = {"net.ipv6.conf.all.disable_ipv6": "1", "net.ipv6.conf.default.disable_ipv6": "1"}
_OPTIONS = {
    "com.docker.network.bridge.name": BRIDGE,
    "com.docker.network.bridge.enable_icc": "false",
    "com.docker.network.bridge.enable_ip_masquerade": "true",
}
_REJECT = "-j REJECT --reject-with icmp-admin-prohibited"


class NetworkFenceError(DockerSandboxError):
    """A network was granted but toolhub could not fence it, so the call does not run."""


async def prepare(client: "DockerClient") -> str:
    """The fenced network's name, once it exists and its rules are in place on this machine.

    Raises:
        NetworkFenceError: the rules cannot be installed, or the network is not toolhub's.
        DockerSandboxError: the engine refused.
    """
    return await call("prepare the sandbox network", _prepare, client)


def _prepare(client: "DockerClient") -> str:
    bridge = _network(client)
    if not Path("/sys/class/net", bridge).exists():
        raise NetworkFenceError(
            f"the sandbox network's bridge {bridge!r} is not on this machine (is the Docker engine remote, or in "
            "another network namespace?): toolhub can fence only a bridge it sees, so no network is granted"
        )
    try:
        with firewall.host_lock():
            _install(bridge, firewall.resolvers(4, loopback=False))  # Docker's DNS never asks a loopback one
    except firewall.FirewallError as exc:
        raise NetworkFenceError(str(exc)) from None
    return NETWORK


def _network(client: "DockerClient") -> str:
    """Create the network unless it exists (another server may be creating it now); its bridge's name."""
    import docker.errors

    try:
        found = client.api.inspect_network(NETWORK)
    except docker.errors.NotFound:
        try:
            client.api.create_network(
                NETWORK, driver="bridge", options=_OPTIONS, labels={NETWORK_LABEL: "sandbox"}, check_duplicate=True
            )
        except docker.errors.APIError as exc:
            if exc.status_code != 409:  # 409: another server made it first
                raise
        found = client.api.inspect_network(NETWORK)
    options = found.get("Options") or {}
    if (found.get("Labels") or {}).get(NETWORK_LABEL) != "sandbox" or any(
        options.get(key) != value for key, value in _OPTIONS.items()
    ):
        raise NetworkFenceError(
            f"a Docker network named {NETWORK!r} exists but is not the one toolhub makes; "
            f"remove it (docker network rm {NETWORK}) and toolhub will create its own"
        )
    return options["com.docker.network.bridge.name"]


def rules(resolvers: list[str]) -> list[str]:
    """The two chains' rules: DNS to the resolvers, then no way to anything but the internet (FORWARD) and no way
    to the host itself (INPUT)."""
    lines = [*firewall.dns_exceptions(FORWARD_CHAIN, resolvers), *firewall.dns_exceptions(INPUT_CHAIN, resolvers)]
    lines += [f"-A {FORWARD_CHAIN} -d {blocked} {_REJECT}" for blocked in firewall.BLOCKED_V4]
    return [*lines, f"-A {INPUT_CHAIN} {_REJECT}"]


def _install(bridge: str, resolvers: list[str]) -> None:
    """Write the chains, then hook them in once: first in DOCKER-USER (forwarded) and in INPUT (to the host)."""
    firewall.restore("iptables-restore", [FORWARD_CHAIN, INPUT_CHAIN], rules(resolvers))
    if firewall.run([firewall.binary("iptables"), "-w", "-S", "DOCKER-USER"], check=False) != 0:
        raise NetworkFenceError(
            "the DOCKER-USER chain is missing (does dockerd run with --iptables=false?), so the sandbox network "
            "cannot be fenced and no network is granted"
        )
    for chain, target in (("DOCKER-USER", FORWARD_CHAIN), ("INPUT", INPUT_CHAIN)):
        firewall.hook("iptables", chain, ["-i", bridge, "-j", target])
