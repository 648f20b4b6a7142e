"""Turn an MCP `CallToolResult` into the one result type the executor understands."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from mcp_types import CallToolResult, ContentBlock

EMPTY_RESPONSE = "Empty response from tool"


@dataclass(frozen=True, slots=True)
class MCPCallResult:
    """`text` is what the model reads; `content` keeps the raw MCP content blocks (JSON) for callers that want them."""

    status: Literal["success", "error"]
    text: str
    content: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def error(cls, message: str) -> MCPCallResult:
        return cls(status="error", text=message)


def call_result(result: CallToolResult, *, max_chars: int) -> MCPCallResult:
    """Text blocks joined by newlines, other blocks described in words, `isError` as the status."""
    parts = [describe_block(block) for block in result.content]
    if parts:
        text = "\n".join(parts)
    elif result.structured_content is not None:
        text = json.dumps(result.structured_content, ensure_ascii=False)
    else:
        text = EMPTY_RESPONSE
    return MCPCallResult(
        status="error" if result.is_error else "success",
        text=truncate(text, max_chars),
        content=[block.model_dump(mode="json", by_alias=True, exclude_none=True) for block in result.content],
    )


def describe_block(block: ContentBlock) -> str:
    """A content block as text: text as is; images, audio and resources as a short description."""
    match block.type:
        case "text":
            return block.text
        case "image" | "audio":
            return f"[{block.type}: {block.mime_type}, {_decoded_size(block.data)} bytes]"
        case "resource_link":
            return f"[resource link: {block.name} <{block.uri}>]"
        case "resource":
            resource = block.resource
            mime = resource.mime_type or "unknown type"
            if hasattr(resource, "text"):
                return f"[resource {resource.uri} ({mime})]\n{resource.text}"
            return f"[resource {resource.uri}: {mime}, {_decoded_size(resource.blob)} bytes]"
    return f"[{block.type} content]"


def truncate(text: str, max_chars: int) -> str:
    if len(text) <= max_chars:
        return text
    return f"{text[:max_chars]}\n[... truncated {len(text) - max_chars} characters]"


def _decoded_size(base64_data: str) -> int:
    return len(base64_data) * 3 // 4 - base64_data.count("=", -2)
