"""iptables rules that keep tools granted a network off this machine and off every network that is not the internet.

Shared by the local sandbox (`egress.py`, rules on the calls' uids) and the Docker sandbox (`docker/network.py`,
rules on toolhub's bridge). Chains are written with `iptables-restore --noflush`, where declaring a chain empties it
in the same atomic commit that refills it, so no packet ever meets a half-written chain; hooks into the built-in
chains are checked and inserted under a host-wide lock, so a restart or a second server leaves exactly one copy.
"""

import fcntl
import ipaddress
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from toolhub.sandbox.base import SandboxError

BLOCKED_V4 = (
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
"""Every IPv4 range that is not the public internet."""
BLOCKED_V6 = ("::/128", "::1/128", "::ffff:0:0/96", "64:ff9b::/96", "2001:db8::/32", "fc00::/7", "fe80::/10",
              "ff00::/8")  # fmt: skip
"""Every IPv6 range that is not the public internet (mapped IPv4 included)."""
REJECT = "-j REJECT"
_RESOLV_CONFS = (Path("/etc/resolv.conf"), Path("/run/systemd/resolve/resolv.conf"))


class FirewallError(SandboxError):
    """A network was granted but its rules could not be installed, so the call does not run."""


def resolvers(version: int = 4, *, loopback: bool = True) -> list[str]:
    """The host's DNS servers (of one IP version) that a blocked range would otherwise cover."""
    found: set[str] = set()
    for path in _RESOLV_CONFS:
        try:
            lines = path.read_text().splitlines()
        except OSError:
            continue
        for fields in (line.split() for line in lines):
            if len(fields) >= 2 and fields[0] == "nameserver":
                try:
                    address = ipaddress.ip_address(fields[1].split("%")[0])
                except ValueError:
                    continue
                if address.version == version and not address.is_global and (loopback or not address.is_loopback):
                    found.add(str(address))
    return sorted(found)


def dns_exceptions(chain: str, servers: Sequence[str]) -> list[str]:
    """Rules letting DNS (port 53) through to `servers`, to put before a chain's rejections."""
    return [f"-A {chain} -d {server} -p {proto} --dport 53 -j RETURN" for server in servers for proto in ("udp", "tcp")]


def restore(command: str, chains: Sequence[str], rules: Sequence[str]) -> None:
    """Atomically empty and refill `chains` of the filter table with `rules` (`-A CHAIN ...` lines); `command`
    is iptables-restore or ip6tables-restore."""
    text = "\n".join(["*filter", *(f":{chain} - [0:0]" for chain in chains), *rules, "COMMIT", ""])
    run([binary(command), "-w", "--noflush"], stdin=text)


def hook(command: str, chain: str, rule: Sequence[str]) -> None:
    """Insert `rule` first in the built-in `chain` unless it is there (call under `host_lock`)."""
    path = binary(command)
    if run([path, "-w", "-C", chain, *rule], check=False) != 0:
        run([path, "-w", "-I", chain, "1", *rule])


def binary(command: str) -> str:
    found = shutil.which(command)
    if found is None:
        raise FirewallError(f"{command} is not installed (apt-get install iptables), so no network is granted")
    return found


def run(command: list[str], *, stdin: str | None = None, check: bool = True) -> int:
    """Run one iptables command; its exit status, or FirewallError with its message when `check` fails."""
    try:
        done = subprocess.run(command, input=stdin, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise FirewallError(f"could not run {command[0]}: {exc}; no network is granted") from None
    if check and done.returncode != 0:
        problem = done.stderr.strip() or f"exit status {done.returncode}"
        raise FirewallError(
            f"could not install the rules that fence tools granted a network ({problem}); toolhub needs root "
            "(CAP_NET_ADMIN) for that, and no network is granted"
        )
    return done.returncode


@contextmanager
def host_lock() -> Iterator[None]:
    """One server at a time on this machine checks and inserts hooks, so that two never insert one twice."""
    directory = Path("/run/lock") if Path("/run/lock").is_dir() else Path(tempfile.gettempdir())
    path = directory / "toolhub-sandbox-net.lock"
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        raise FirewallError(f"could not open {path}: {exc}; no network is granted") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # which releases the lock
