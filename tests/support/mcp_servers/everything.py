"""An MCP server built with the `mcp` SDK whose tools exercise the bridge's fault handling.

Run: python everything.py [--transport stdio|sse|streamable-http] [--port P] [--name NAME]
     [--slow-start SECONDS] [--garbage] [--description-file PATH]

It is run as a script (not imported by the tests), so it depends on nothing but the SDK.
"""

import argparse
import os
import subprocess
import sys
import threading
import time
import zlib
from pathlib import Path

from mcp.server.mcpserver import Context, Image, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel

DEFAULT_DRIFTY_DESCRIPTION = "Return a fixed answer; its description lives in a file and may change."


class Address(BaseModel):
    street: str
    city: str


class User(BaseModel):
    name: str
    address: Address
    friends: list[Address] = []


class EverythingServer(MCPServer):
    """Reads the `drifty` tool's description from a file on every listing, like a server that changes under us."""

    def __init__(self, name: str, description_file: Path | None) -> None:
        super().__init__(name)
        self.description_file = description_file

    async def list_tools(self):  # type: ignore[no-untyped-def]
        tools = await super().list_tools()
        if self.description_file is None or not self.description_file.exists():
            return tools
        text = self.description_file.read_text()
        return [t.model_copy(update={"description": text}) if t.name == "drifty" else t for t in tools]


def tiny_png() -> bytes:
    """A valid 1x1 red PNG, built here so the server ships no binary files."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return len(data).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")

    header = (1).to_bytes(4, "big") * 2 + bytes([8, 2, 0, 0, 0])
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def build_server(name: str, description_file: Path | None) -> EverythingServer:
    server = EverythingServer(name, description_file)

    @server.tool()
    def echo(text: str) -> str:
        """Echo the given text back."""
        return text

    @server.tool()
    def add(a: int, b: int) -> int:
        """Add two integers and return the sum."""
        return a + b

    @server.tool()
    def whoami() -> str:
        """Return this server's name."""
        return name

    @server.tool()
    def pid() -> int:
        """Return this server process's id (the tests kill it)."""
        return os.getpid()

    @server.tool()
    def env(name: str) -> str:
        """Return the value of an environment variable in the server process, or <unset>."""
        return os.environ.get(name, "<unset>")

    @server.tool()
    async def sleep(seconds: float, started_file: str | None = None) -> str:
        """Sleep, then answer: a tool that hangs when asked to. It creates `started_file` once running."""
        import anyio

        if started_file:
            Path(started_file).touch()
        await anyio.sleep(seconds)
        return f"slept {seconds}"

    @server.tool()
    def huge(size: int) -> str:
        """Return a text of `size` characters."""
        return "x" * size

    @server.tool()
    def fail(message: str) -> str:
        """Always fail with the given message (an isError result)."""
        raise ToolError(message)

    @server.tool()
    def image() -> Image:
        """Return a 1x1 PNG image."""
        return Image(data=tiny_png(), format="png")

    @server.tool()
    def register_user(user: User) -> str:
        """Register a user (a parameter schema with $defs and $ref)."""
        return f"registered {user.name} from {user.address.city}"

    @server.tool(description=DEFAULT_DRIFTY_DESCRIPTION)
    def drifty() -> str:
        return "drifty answer"

    @server.tool()
    async def set_description(text: str, ctx: Context) -> str:
        """Change the `drifty` tool's description and tell the client the tool list changed."""
        if description_file is None:
            raise ToolError("started without --description-file")
        description_file.write_text(text)
        await ctx.session.send_tool_list_changed()
        return "changed"

    return server


def relay_with_garbage(argv: list[str]) -> int:
    """Run the real server as a child and put non-JSON-RPC lines before and among its stdout messages."""
    child = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert child.stdin is not None and child.stdout is not None
    out = sys.stdout.buffer
    out.write(b"Starting the everything server (this line is not JSON-RPC)\n")
    out.flush()

    def pump_stdin() -> None:
        assert child.stdin is not None
        while chunk := sys.stdin.buffer.read1(65536):
            child.stdin.write(chunk)
            child.stdin.flush()
        child.stdin.close()

    threading.Thread(target=pump_stdin, daemon=True).start()
    for line in child.stdout:
        out.write(b'DEBUG: about to answer\n{"not": "json-rpc"}\n[1, 2\n')
        out.write(line)
        out.flush()
    return child.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--transport", choices=["stdio", "sse", "streamable-http"], default="stdio")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--name", default="everything")
    parser.add_argument("--slow-start", type=float, default=0.0, help="sleep this long before serving")
    parser.add_argument("--garbage", action="store_true", help="write non-JSON lines to stdout (stdio only)")
    parser.add_argument("--description-file", type=Path, default=None)
    args = parser.parse_args()

    if args.garbage:
        argv = [sys.executable, __file__, *(a for a in sys.argv[1:] if a != "--garbage")]
        return relay_with_garbage(argv)
    time.sleep(args.slow_start)
    server = build_server(args.name, args.description_file)
    if args.transport == "stdio":
        server.run("stdio")
    else:
        server.run(args.transport, host="127.0.0.1", port=args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
