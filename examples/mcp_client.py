"""Use toolhub's tools from any MCP client: the `mcp` SDK's client at /mcp, a profile at /mcp/{name}, and the
config a desktop client needs.

Run a server first (scripts/serve), then: .venv/bin/python examples/mcp_client.py
With a server password, set TOOLHUB_API_KEY to a user's API key (or the password).
"""

import asyncio
import json
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

BASE_URL = os.environ.get("TOOLHUB_URL", "http://127.0.0.1:8283")
API_KEY = os.environ.get("TOOLHUB_API_KEY")
SUFFIX = uuid.uuid4().hex[:6]

FORECAST = f'''def forecast_{SUFFIX}(city: str, days: int = 1) -> dict:
    """Forecast the weather (a made-up one).

    Args:
        city (str): The city.
        days (int): How many days ahead.
    """
    return {{"city": city, "days": days, "sky": "clear"}}
'''


@asynccontextmanager
async def connect(path: str) -> AsyncIterator[Client]:
    """An SDK client on toolhub's endpoint (`Client(BASE_URL + path)` is enough when the server has no password)."""
    headers = {"Authorization": f"Bearer {API_KEY}"} if API_KEY else None
    async with (
        httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30, read=300)) as http,
        Client(streamable_http_client(BASE_URL + path, http_client=http)) as client,
    ):
        yield client


async def main() -> None:
    headers = {"Authorization": f"Bearer {API_KEY}"} if API_KEY else {}
    with httpx.Client(base_url=BASE_URL, headers=headers) as http:
        tool = http.post("/v1/tools", json={"source_code": FORECAST, "tags": ["weather"]}).json()
        profile = http.post("/v1/mcp-profiles", json={"name": f"weather-{SUFFIX}", "tags": ["weather"]}).json()

    async with connect("/mcp") as client:
        tools = (await client.list_tools()).tools
        print("tools at /mcp:", len(tools))
        result = await client.call_tool(tool["name"], {"city": "Oslo", "days": 2})
        print("call:", "error" if result.is_error else "success", json.dumps(result.structured_content))

    async with connect(f"/mcp/{profile['name']}") as client:
        print(f"tools at /mcp/{profile['name']}:", [t.name for t in (await client.list_tools()).tools])

    # Claude Desktop starts MCP servers as processes: `toolhub mcp-stdio` relays to this server.
    desktop = {
        "mcpServers": {
            "toolhub": {
                "command": "toolhub",
                "args": ["mcp-stdio", "--url", f"{BASE_URL}/mcp/{profile['name']}"],
                "env": {"TOOLHUB_API_KEY": "<your API key>"},
            }
        }
    }
    print("claude_desktop_config.json:", json.dumps(desktop))


if __name__ == "__main__":
    asyncio.run(main())
