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

import fcntl
import ipaddress
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from toolhub.sandbox.docker_engine import DockerSandboxError, call

if TYPE_CHECKING:
    from docker import DockerClient

NETWORK = "toolhub-sandbox-net"
BRIDGE = "toolhub-sbx0"
"""The bridge's interface name on the host, which the rules match (at most 15 characters)."""
NETWORK_LABEL = "org.toolhub.network"
FORWARD_CHAIN = "TOOLHUB-DOCKER-FWD"
INPUT_CHAIN = "TOOLHUB-DOCKER-IN"
BLOCKED = (
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",  # carrier-grade NAT, where some clouds keep their metadata service
    "127.0.0.0/8",
    "169.254.0.0/16",  # link-local: 169.254.169.254 and its kin
    "172.16.0.0/12",  # Docker's own networks among them
    "192.0.0.0/24",
    "192.0.2.0/24",
    "192.168.0.0/16",
    "198.18.0.0/15",
    "198.51.100.0/24",
    "203.0.113.0/24",
    "224.0.0.0/4",
    "240.0.0.0/4",
)
"""Where traffic from the sandbox network may not go: every IPv4 range that is not the public internet."""
CONTAINER_SYSCTLS = {"net.ipv6.conf.all.disable_ipv6": "1", "net.ipv6.conf.default.disable_ipv6": "1"}
_OPTIONS = {
    "com.docker.network.bridge.name": BRIDGE,
    "com.docker.network.bridge.enable_icc": "false",
    "com.docker.network.bridge.enable_ip_masquerade": "true",
}
_RESOLV_CONFS = (Path("/etc/resolv.conf"), Path("/run/systemd/resolve/resolv.conf"))
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
    with _host_lock():
        _install(bridge, _resolvers())
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


def _resolvers() -> list[str]:
    """The host's upstream DNS servers that a rule would otherwise reject (loopback ones Docker never uses)."""
    found: set[str] = set()
    for path in _RESOLV_CONFS:
        try:
            lines = path.read_text().splitlines()
        except OSError:
            continue
        for fields in (line.split() for line in lines):
            if len(fields) >= 2 and fields[0] == "nameserver":
                try:
                    address = ipaddress.ip_address(fields[1])
                except ValueError:
                    continue
                if address.version == 4 and not address.is_loopback and not address.is_global:
                    found.add(str(address))
    return sorted(found)


def rules(resolvers: list[str]) -> str:
    """The two chains as `iptables-restore --noflush` input: declaring a chain there empties it in the same
    atomic commit that refills it, so no packet ever meets a half-written chain."""
    lines = ["*filter", f":{FORWARD_CHAIN} - [0:0]", f":{INPUT_CHAIN} - [0:0]"]
    for resolver in resolvers:
        for chain in (FORWARD_CHAIN, INPUT_CHAIN):
            lines += [f"-A {chain} -d {resolver}/32 -p {proto} --dport 53 -j RETURN" for proto in ("udp", "tcp")]
    lines += [f"-A {FORWARD_CHAIN} -d {blocked} {_REJECT}" for blocked in BLOCKED]
    lines += [f"-A {INPUT_CHAIN} {_REJECT}", "COMMIT", ""]
    return "\n".join(lines)


def _install(bridge: str, resolvers: list[str]) -> None:
    """Write the chains, then hook them in once: first in DOCKER-USER (forwarded) and in INPUT (to the host)."""
    iptables, restore = shutil.which("iptables"), shutil.which("iptables-restore")
    if iptables is None or restore is None:
        raise NetworkFenceError(
            "iptables is not installed (apt-get install iptables), so the sandbox network cannot be fenced "
            "and no network is granted"
        )
    _iptables([restore, "-w", "--noflush"], stdin=rules(resolvers))
    if _iptables([iptables, "-w", "-S", "DOCKER-USER"], check=False) != 0:
        raise NetworkFenceError(
            "the DOCKER-USER chain is missing (does dockerd run with --iptables=false?), so the sandbox network "
            "cannot be fenced and no network is granted"
        )
    for chain, target in (("DOCKER-USER", FORWARD_CHAIN), ("INPUT", INPUT_CHAIN)):
        hook = ["-i", bridge, "-j", target]
        if _iptables([iptables, "-w", "-C", chain, *hook], check=False) != 0:
            _iptables([iptables, "-w", "-I", chain, "1", *hook])


def _iptables(command: list[str], *, stdin: str | None = None, check: bool = True) -> int:
    """Run one iptables command; its exit status, or NetworkFenceError with its message when `check` fails."""
    try:
        done = subprocess.run(command, input=stdin, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise NetworkFenceError(f"could not run {command[0]}: {exc}; no network is granted") from None
    if check and done.returncode != 0:
        problem = done.stderr.strip() or f"exit status {done.returncode}"
        raise NetworkFenceError(
            f"could not install the rules that fence the sandbox network ({problem}); toolhub needs root "
            "(CAP_NET_ADMIN) on the Docker host for that, and no network is granted"
        )
    return done.returncode


@contextmanager
def _host_lock() -> Iterator[None]:
    """One server at a time on this machine checks and inserts the hooks, so that two never insert one twice."""
    directory = Path("/run/lock") if Path("/run/lock").is_dir() else Path(tempfile.gettempdir())
    path = directory / "toolhub-sandbox-net.lock"
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        raise NetworkFenceError(f"could not open {path}: {exc}; no network is granted") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # which releases the lock
