"""What a call needs of a tool, apart from how the tool is stored: `ToolSpec`, built from a stored row or from a
`/v1/tools/run` body, and `ToolCall`, a spec with its arguments."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from toolhub.sandbox.config_models import MAX_TIMEOUT_S, requirement_strings
from toolhub.store.models import Tool as ToolRow
from toolhub.tools.model import DEFAULT_RETURN_CHAR_LIMIT


@dataclass(frozen=True, kw_only=True)
class MCPTarget:
    """Which MCP server's tool a registered MCP tool calls (`metadata_.mcp`)."""

    server_name: str
    tool_name: str
    fingerprint: str | None = None
    """The definition the tool was registered with; a call is refused when the server's has changed."""


@dataclass(frozen=True, kw_only=True)
class ToolSpec:
    """A tool as the executor sees it. Immutable, and free of the ORM: the agent loop can hold one across steps."""

    name: str
    tool_type: str = "custom"
    id: str | None = None
    """None for a tool run from source without being stored."""
    source_code: str = ""
    json_schema: Mapping[str, Any] | None = None
    args_json_schema: Mapping[str, Any] | None = None
    pip_requirements: tuple[str, ...] = ()
    return_char_limit: int = DEFAULT_RETURN_CHAR_LIMIT
    sandbox: str | None = None
    """`metadata_.sandbox`: the sandbox this tool runs in, over the agent's choice and the server default."""
    timeout_s: float | None = None
    """`metadata_.timeout`: seconds per call, over the sandbox config's timeout."""
    mcp: MCPTarget | None = None
    """`metadata_.mcp` of an `external_mcp` tool."""

    @classmethod
    def from_row(cls, row: ToolRow) -> "ToolSpec":
        """The spec of a stored tool. Metadata of the wrong type (rows written before it was validated) is
        ignored, never a 500."""
        metadata = row.metadata_ if isinstance(row.metadata_, Mapping) else {}
        sandbox = metadata.get("sandbox")
        return cls(
            id=row.id,
            name=row.name,
            tool_type=row.tool_type,
            source_code=row.source_code or "",
            json_schema=_copied(row.json_schema),
            args_json_schema=_copied(row.args_json_schema),
            pip_requirements=requirement_strings(row.pip_requirements),
            return_char_limit=row.return_char_limit or DEFAULT_RETURN_CHAR_LIMIT,
            sandbox=sandbox if isinstance(sandbox, str) and sandbox else None,
            timeout_s=_timeout(metadata.get("timeout")),
            mcp=_mcp_target(metadata.get("mcp"), row.name) if row.tool_type == "external_mcp" else None,
        )

    @classmethod
    def from_source(
        cls,
        name: str,
        source_code: str,
        *,
        json_schema: Mapping[str, Any] | None = None,
        args_json_schema: Mapping[str, Any] | None = None,
        pip_requirements: Any = None,
    ) -> "ToolSpec":
        """A custom tool run from source without being stored (`POST /v1/tools/run`)."""
        return cls(
            name=name,
            source_code=source_code,
            json_schema=_copied(json_schema),
            args_json_schema=_copied(args_json_schema),
            pip_requirements=requirement_strings(pip_requirements),
        )


@dataclass(frozen=True, kw_only=True)
class ToolCall:
    """One call: the tool and the arguments the model (or the client) sent."""

    spec: ToolSpec
    args: Mapping[str, Any] = field(default_factory=dict)


def _copied(value: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A copy, so that a spec never shares a dict with an ORM row or a request body."""
    return None if value is None else dict(value)


def _timeout(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= MAX_TIMEOUT_S:
        return None
    return float(value)


def _mcp_target(pin: Any, name: str) -> MCPTarget:
    pin = pin if isinstance(pin, Mapping) else {}
    server_name, tool_name, fingerprint = pin.get("server_name"), pin.get("tool_name"), pin.get("fingerprint")
    return MCPTarget(
        server_name=server_name if isinstance(server_name, str) else "",
        tool_name=tool_name if isinstance(tool_name, str) else name,
        fingerprint=fingerprint if isinstance(fingerprint, str) else None,
    )
