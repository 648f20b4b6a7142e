"""Load the MCP SDK lazily, in a worker thread.

Importing `mcp` takes about a second; doing it at module import would slow server start-up, and doing it on
the event loop would stall every request meanwhile. Code that needs the SDK awaits `load_sdk()` once, then
imports SDK names locally (a dictionary lookup from then on).
"""

import importlib

import anyio.to_thread

_MODULES = (
    "mcp_types",
    "mcp.shared.exceptions",
    "mcp.shared.message",
    "mcp.client.session",
    "mcp.client.sse",
    "mcp.client.streamable_http",
    "httpx2",
)
_loaded = False


async def load_sdk() -> None:
    global _loaded
    if not _loaded:
        await anyio.to_thread.run_sync(_import_all)
        _loaded = True


def _import_all() -> None:
    for name in _MODULES:
        importlib.import_module(name)
