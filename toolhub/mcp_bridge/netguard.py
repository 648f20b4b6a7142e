"""Refuse remote MCP URLs that point at link-local or cloud-metadata addresses (SSRF).

Checked twice: the URL as written when a config is validated (no DNS), and every resolved address just before
each connect, so a hostname that resolves to a metadata address is refused too. Loopback and private ranges stay
allowed: local and on-premises MCP servers live there.
"""

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

METADATA_ADDRESSES: frozenset[IPAddress] = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200")
)
METADATA_HOSTNAMES = frozenset({"metadata.google.internal"})


def refused_kind(address: IPAddress) -> str | None:
    """What makes this address off limits ("a link-local address", ...), or None when it may be contacted."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address in METADATA_ADDRESSES:
        return "a cloud metadata address"
    if address.is_link_local:
        return "a link-local address"
    return None


def url_refusal(url: str) -> str | None:
    """Why this URL is refused as written (scheme, host, literal address, metadata name), without DNS."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError as exc:
        return f"malformed URL: {exc}"
    if parts.scheme not in ("http", "https"):
        return f"URL scheme must be http or https, not {parts.scheme!r}"
    if not host:
        return "URL has no host"
    host = host.rstrip(".").lower()
    if host in METADATA_HOSTNAMES:
        return f"{host} is a cloud metadata host"
    try:
        kind = refused_kind(ipaddress.ip_address(host.split("%", 1)[0]))
    except ValueError:
        return None
    return f"{host} is {kind}" if kind else None


async def resolved_refusal(url: str) -> str | None:
    """Why this URL is refused once its host is resolved; None also when it does not resolve (connect reports that)."""
    if reason := url_refusal(url):
        return reason
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        return None
    for _family, _type, _proto, _name, sockaddr in infos:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if kind := refused_kind(address):
            return f"{parts.hostname} resolves to {address}, {kind}"
    return None
