"""Where a local tool granted network access may connect: the internet, never this machine or its neighbours.

A local worker with network shares the host's network namespace, so without rules its tools could reach the
server's own port, a database on loopback, the cloud metadata service (169.254.169.254) or other machines on the
private network. Tool calls run as host uids in a known range (see `bwrap.py`), so an `owner` match in the OUTPUT
chain catches exactly their sockets: everything bound for loopback (which is also how this machine's own addresses
are reached), link-local, private, shared, multicast and reserved ranges is rejected, except DNS to the resolvers of
/etc/resolv.conf. The rules live in chains of their own, rewritten idempotently, so a restart or a second server
leaves one copy.
"""

import ipaddress
import logging
import shutil
import subprocess
from pathlib import Path

from toolhub.sandbox.base import SandboxError

logger = logging.getLogger(__name__)

CHAIN = "TOOLHUB-SANDBOX-EGRESS"
BLOCKED = {
    "iptables": ("0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
                 "192.0.0.0/24", "192.168.0.0/16", "198.18.0.0/15", "224.0.0.0/4", "240.0.0.0/4"),
    "ip6tables": ("::/128", "::1/128", "::ffff:0:0/96", "64:ff9b::/96", "fc00::/7", "fe80::/10", "ff00::/8"),
}  # fmt: skip


class EgressRulesError(SandboxError):
    """The rules that keep network-granted tools off this machine could not be installed: no such call runs."""


def install(first_uid: int, last_uid: int) -> None:
    """Apply the rules to sockets of uids first_uid..last_uid, for IPv4 and (when this machine has it) IPv6.

    Raises:
        EgressRulesError: iptables is missing or refused (the server must run as root).
    """
    families = ["iptables"] + (["ip6tables"] if _has_ipv6() else [])
    resolvers = _resolvers()
    for tool in families:
        binary = shutil.which(tool)
        if binary is None:
            raise EgressRulesError(f"{tool} is not installed: network access for local tools needs it")
        wanted = [ip for ip in resolvers if (ip.version == 4) == (tool == "iptables")]
        _apply(binary, f"{first_uid}-{last_uid}", [str(ip) for ip in wanted], BLOCKED[tool])


def _apply(binary: str, uids: str, resolvers: list[str], blocked: tuple[str, ...]) -> None:
    jump = ["OUTPUT", "-m", "owner", "--uid-owner", uids, "-j", CHAIN]
    if _run(binary, "-n", "-L", CHAIN, check=False) != 0:
        _run(binary, "-N", CHAIN)
    _run(binary, "-F", CHAIN)
    for resolver in resolvers:
        for protocol in ("udp", "tcp"):
            _run(binary, "-A", CHAIN, "-d", resolver, "-p", protocol, "--dport", "53", "-j", "RETURN")
    _run(binary, "-A", CHAIN, "-o", "lo", "-j", "REJECT")
    for network in blocked:
        _run(binary, "-A", CHAIN, "-d", network, "-j", "REJECT")
    if _run(binary, "-C", *jump, check=False) != 0:
        _run(binary, "-I", *jump)


def _run(binary: str, *args: str, check: bool = True) -> int:
    done = subprocess.run([binary, "-w", "5", *args], capture_output=True, text=True)
    if check and done.returncode != 0:
        raise EgressRulesError(
            f"could not install the network rules for local tools ({binary} {' '.join(args)}): {done.stderr.strip()}"
        )
    return done.returncode


def _resolvers() -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    found = []
    try:
        lines = Path("/etc/resolv.conf").read_text().splitlines()
    except OSError:
        return []
    for line in lines:
        parts = line.split()
        if len(parts) >= 2 and parts[0] == "nameserver":
            try:
                found.append(ipaddress.ip_address(parts[1].split("%")[0]))
            except ValueError:
                continue
    return found


def _has_ipv6() -> bool:
    try:
        return bool(Path("/proc/net/if_inet6").read_text().strip())
    except OSError:
        return False
