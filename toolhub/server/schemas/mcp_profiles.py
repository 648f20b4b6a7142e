"""MCP endpoint profiles on the wire (`/v1/mcp-profiles`): toolhub's own resource, not Letta's."""

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

ProfileName = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$",
        description="The URL segment: the profile is served at /mcp/{name}.",
    ),
]
Tags = Annotated[list[Annotated[str, Field(min_length=1, max_length=255)]], Field(max_length=256)]
ToolIds = Annotated[list[Annotated[str, Field(min_length=1, max_length=64)]], Field(max_length=1000)]


class MCPProfile(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    description: str | None = None
    tags: list[str] = Field(default_factory=list, description="Tools with any of these tags are served.")
    tool_ids: list[str] = Field(default_factory=list, description="These tools are served too.")
    created_at: datetime
    updated_at: datetime
    created_by_id: str | None = None
    last_updated_by_id: str | None = None


class MCPProfileCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: ProfileName
    description: str | None = Field(default=None, max_length=2000)
    tags: Tags = Field(default_factory=list)
    tool_ids: ToolIds = Field(default_factory=list)


class MCPProfileUpdate(BaseModel):
    """Only the fields sent change; a list sent replaces the stored one."""

    model_config = ConfigDict(extra="forbid")

    name: ProfileName | None = None
    description: str | None = Field(default=None, max_length=2000)
    tags: Tags | None = None
    tool_ids: ToolIds | None = None
