"""Letta 1.x's MCP server bodies (`/v1/mcp-servers`): a name plus a `config` tagged by `mcp_server_type`."""

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

ServerType = Literal["stdio", "sse", "streamable_http"]


class MCPServerConfigBody(BaseModel):
    """One transport's settings; validated by the bridge's config models once the name is known."""

    model_config = ConfigDict(extra="allow")

    mcp_server_type: ServerType


class MCPServerCreate(BaseModel):
    server_name: str = Field(min_length=1, max_length=100)
    config: MCPServerConfigBody

    def bridge_body(self) -> dict[str, Any]:
        return config_body(self.server_name, self.config)


class MCPServerUpdate(BaseModel):
    server_name: str | None = Field(default=None, description="Renaming is refused; give the current name or none.")
    config: MCPServerConfigBody


class MCPToolRunBody(BaseModel):
    args: dict[str, Any] = Field(default_factory=dict)


class MCPToolRunResult(BaseModel):
    """Letta's ToolExecutionResult; `func_return` is the MCP tool's text content."""

    status: Literal["success", "error"]
    func_return: str
    agent_state: None = None
    stdout: None = None
    stderr: None = None
    sandbox_config_fingerprint: None = None


class MCPRefreshResult(BaseModel):
    """Tool names; `deleted` tools are marked unavailable, not removed. `failed`: could not be registered."""

    deleted: list[str]
    updated: list[str]
    added: list[str]
    failed: list[str] = Field(default_factory=list)


def config_body(server_name: str, config: MCPServerConfigBody) -> dict[str, Any]:
    """The bridge's config body: `type` instead of `mcp_server_type`, nulls left to the defaults."""
    fields = {key: value for key, value in (config.model_extra or {}).items() if value is not None}
    return {**fields, "server_name": server_name, "type": config.mcp_server_type}
