"""A tool call's ending as an MCP `CallToolResult`. Whatever went wrong with the *call* — the tool raised, timed
out, or the sandbox or MCP server behind it could not run it — is a tool error (`isError: true`) whose text says
what happened, so the model can read it and react; only a request the endpoint cannot serve at all (an unknown
tool) is a protocol error."""

import json
from typing import Any

import mcp_types as types

from toolhub.errors import ToolhubError, ToolInfrastructureError
from toolhub.tools.executor import ToolOutcome


def outcome_result(outcome: ToolOutcome) -> types.CallToolResult:
    """The tool's text, plus `structuredContent` when a successful return is a JSON object (the text stays, for
    clients that read only text). Other JSON values stay text: through protocol 2025-11-25 structured content
    must be an object."""
    content = [types.TextContent(text=outcome.text)]
    if outcome.status == "error":
        return types.CallToolResult(content=content, is_error=True)
    return types.CallToolResult(content=content, structured_content=_json_object(outcome.text))


def failure_result(exc: ToolhubError) -> types.CallToolResult:
    """A call the machinery could not carry out, told in the result so that the model (or user) sees why."""
    if isinstance(exc, ToolInfrastructureError):
        again = "retrying later may work" if exc.retryable else "retrying will not help"
        text = f"toolhub could not run the tool ({exc.code}; {again}): {_detail(exc)}"
    else:
        text = f"toolhub refused the call ({exc.code}): {_detail(exc)}"
    return types.CallToolResult(content=[types.TextContent(text=text)], is_error=True)


def _detail(exc: ToolhubError) -> str:
    return exc.detail if isinstance(exc.detail, str) else json.dumps(exc.detail, default=str)


def _json_object(text: str) -> dict[str, Any] | None:
    if not text.startswith("{"):
        return None
    try:
        value = json.loads(text)
    except ValueError:  # not JSON, or cut by return_char_limit
        return None
    return value if isinstance(value, dict) else None
