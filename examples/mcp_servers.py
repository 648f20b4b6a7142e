"""Connect MCP servers and use their tools, as the Letta MCP docs do.

Two ways to add a server:
  * the config file: copy examples/mcp_config.json to ~/.toolhub/mcp_config.json (or start the server with
    `toolhub server --mcp-config examples/mcp_config.json`); edits apply without a restart;
  * the API, as below (stored in the database, per organization).

Run a server first (scripts/serve), then: .venv/bin/python examples/mcp_servers.py
"""

import os
import shutil
import time

import httpx
from letta_client import Letta, StdioServerConfig

BASE_URL = os.environ.get("TOOLHUB_URL", "http://127.0.0.1:8283")


def main() -> None:
    client = Letta(base_url=BASE_URL)
    command = shutil.which("mcp-server-time") or "mcp-server-time"
    client.tools.add_mcp_server(
        request=StdioServerConfig(server_name="example-time", command=command, args=["--local-timezone", "UTC"])
    )
    for _ in range(100):  # the session opens in the background; the listing shows its health
        status = client.tools.list_mcp_servers()["example-time"].status
        if status["state"] != "connecting":
            break
        time.sleep(0.1)
    print("server status:", status)

    print("tools:", [tool.name for tool in client.tools.list_mcp_tools_by_server(mcp_server_name="example-time")])
    tool = client.tools.add_mcp_tool(mcp_server_name="example-time", mcp_tool_name="get_current_time")
    print(f"registered {tool.name} ({tool.id}), pinned to fingerprint {tool.metadata['mcp']['fingerprint'][:12]}…")

    # Run the registered tool through the same executor an agent uses (toolhub's own route).
    result = httpx.post(f"{BASE_URL}/v1/tools/{tool.id}/run", json={"args": {"timezone": "Europe/Paris"}}).json()
    print("run:", result["status"], result["tool_return"])

    client.tools.delete_mcp_server(mcp_server_name="example-time")


if __name__ == "__main__":
    main()
