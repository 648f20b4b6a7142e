"""toolhub as an MCP server: its tools for any MCP client, through the same executor as the REST API and agents.

- `http.py`: the ASGI app mounted at `/mcp` and `/mcp/{profile}`, with the REST API's authentication.
- `runtime.py`, `server.py`: the SDK's streamable-HTTP session manager and the lowlevel server's handlers.
- `catalog.py`, `results.py`: tools and call results in MCP's shapes.
- `audiences.py`, `caller.py`: who hears `notifications/tools/list_changed`, and when.
- `stdio_bridge.py`: `toolhub mcp-stdio`, a desktop client's stdio relayed to a running toolhub.
- `_compat.py`: the few places that rely on how the SDK is built.

Profiles (which tools `/mcp/{profile}` serves) are stored per organization and managed at `/v1/mcp-profiles`.
This file imports nothing: `toolhub mcp-stdio` loads only the bridge and the SDK, not the server.
"""
