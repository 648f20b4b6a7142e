"""Where a local tool granted network access may connect: the internet, never this machine or its networks.

A local worker with network shares the host's network namespace, so without rules its tools could reach the
server's own port, a database on loopback, the cloud metadata service (169.254.169.254) or other machines on the
private network. Workers and their calls run as host uids in a known range (see `bwrap.py`), so an `owner` match in
the OUTPUT chain catches exactly their sockets: everything bound for loopback (which is also how this machine's own
addresses are reached) and for every range that is not the internet is rejected, except DNS to the resolvers of
/etc/resolv.conf (see `firewall.py` for how the rules are written).
"""

from pathlib import Path

from toolhub.sandbox import firewall

CHAIN = "TOOLHUB-LOCAL-EGRESS"
_FAMILIES = (
    # (restore command, iptables command, IP version, blocked ranges)
    ("iptables-restore", "iptables", 4, firewall.BLOCKED_V4),
    ("ip6tables-restore", "ip6tables", 6, firewall.BLOCKED_V6),
)


def install(first_uid: int, last_uid: int) -> None:
    """Apply the rules to sockets of uids first_uid..last_uid, for IPv4 and (when this machine has it) IPv6.

    Raises:
        FirewallError: iptables is missing or refused (the server must run as root).
    """
    with firewall.host_lock():
        for restore, iptables, version, blocked in _FAMILIES:
            if version == 6 and not _has_ipv6():
                continue
            rules = [
                *firewall.dns_exceptions(CHAIN, firewall.resolvers(version)),
                f"-A {CHAIN} -o lo {firewall.REJECT}",
                *(f"-A {CHAIN} -d {network} {firewall.REJECT}" for network in blocked),
            ]
            firewall.restore(restore, [CHAIN], rules)
            firewall.hook(iptables, "OUTPUT", ["-m", "owner", "--uid-owner", f"{first_uid}-{last_uid}", "-j", CHAIN])


def _has_ipv6() -> bool:
    try:
        return bool(Path("/proc/net/if_inet6").read_text().strip())
    except OSError:
        return False
