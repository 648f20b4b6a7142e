"""An MCP server with as many tools as asked for, to check that a sync registers every one of them.

Run: python many_tools.py [--count N] [--spec-file PATH] [--unconvertible]

The spec file (JSON `{"count": N, "description": "..."}`), read on every listing, changes the tool set while
the server runs, like a server that is upgraded under us. `--unconvertible` adds `huge`, whose input schema is
too large to convert. Run as a script; it depends on nothing but the SDK.
"""

import argparse
import json
from pathlib import Path

from mcp.server.mcpserver import MCPServer

HUGE_PROPERTIES = 10_001


class ManyToolsServer(MCPServer):
    def __init__(self, count: int, spec_file: Path | None, unconvertible: bool) -> None:
        super().__init__("many-tools")
        self.count = count
        self.spec_file = spec_file
        self.unconvertible = unconvertible

    def _spec(self) -> tuple[int, str | None]:
        if self.spec_file is None or not self.spec_file.exists():
            return self.count, None
        spec = json.loads(self.spec_file.read_text())
        return spec.get("count", self.count), spec.get("description")

    async def list_tools(self):  # type: ignore[no-untyped-def]
        count, description = self._spec()
        tools = [t for t in await super().list_tools() if t.name == "huge" or int(t.name[5:]) < count]
        if description is not None:
            tools = [t.model_copy(update={"description": description}) if t.name == "tool_000" else t for t in tools]
        return tools


def _echo(name: str):  # type: ignore[no-untyped-def]
    def echo(x: int) -> str:
        return f"{name}:{x}"

    return echo


def build_server(count: int, spec_file: Path | None, unconvertible: bool) -> ManyToolsServer:
    server = ManyToolsServer(count, spec_file, unconvertible)
    for index in range(max(count, 400)):
        name = f"tool_{index:03d}"

        server.add_tool(_echo(name), name=name, description=f"Echo x, tagged with {name}.")
    if unconvertible:
        server.add_tool(lambda: "huge", name="huge", description="Has an input schema too large to convert.")
        tool = server._tool_manager.get_tool("huge")
        tool.parameters = {"type": "object", "properties": {f"p{i}": {"type": "string"} for i in range(HUGE_PROPERTIES)}}
    return server


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--spec-file", type=Path)
    parser.add_argument("--unconvertible", action="store_true")
    args = parser.parse_args()
    build_server(args.count, args.spec_file, args.unconvertible).run("stdio")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
