"""Building invocations from inline tool source."""

import re
import textwrap
from typing import Any

from toolhub.sandbox.base import SandboxLimits, ToolInvocation


def tool(
    source: str, args: dict[str, Any] | None = None, *, timeout_s: float | None = None, **fields: Any
) -> ToolInvocation:
    """An invocation of the first function defined in `source` (dedented)."""
    source = textwrap.dedent(source).strip() + "\n"
    match = re.search(r"^(?:async\s+)?def\s+(\w+)", source, re.MULTILINE)
    assert match, "the source defines no function"
    if timeout_s is not None:
        fields["limits"] = SandboxLimits(timeout_s=timeout_s)
    return ToolInvocation(name=match[1], source_code=source, args=args or {}, **fields)


REACH = """
def reach(targets: list) -> dict:
    import socket
    outcomes = {"interfaces": sorted(name for _, name in socket.if_nameindex())}
    for host, port in targets:
        try:
            socket.create_connection((host, port), timeout=2).close()
            outcomes[f"{host}:{port}"] = "connected"
        except OSError as exc:
            outcomes[f"{host}:{port}"] = type(exc).__name__
    return outcomes
"""
"""A tool that tries each (host, port) and lists its network interfaces: what a sandbox lets it reach."""
