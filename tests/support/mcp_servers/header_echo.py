"""An MCP server over HTTP whose one tool answers with a request header, to check what the hub sends.

Run: python header_echo.py --transport sse|streamable-http --port P
"""

import argparse

from mcp.server.mcpserver import Context, MCPServer


def build_server() -> MCPServer:
    server = MCPServer("header-echo")

    @server.tool()
    def request_header(name: str, ctx: Context) -> str:
        """The value of the request header `name`, or `<missing>`."""
        headers = ctx.headers or {}
        return next((value for key, value in headers.items() if key.lower() == name.lower()), "<missing>")

    return server


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--transport", choices=["sse", "streamable-http"], default="streamable-http")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    build_server().run(args.transport, host="127.0.0.1", port=args.port)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
