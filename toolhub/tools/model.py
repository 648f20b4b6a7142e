"""Wire models for tools, with Letta's exact field names (`metadata_` included)."""

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from toolhub.sandbox.config_models import (
    ENV_NAME_PATTERN,
    ENV_VALUE_PATTERN,
    MAX_TIMEOUT_S,
    PipRequirement,
    SandboxType,
)

DEFAULT_RETURN_CHAR_LIMIT = 6000
MAX_RETURN_CHAR_LIMIT = 2**31 - 1
"""The `return_char_limit` column is a 32-bit INTEGER; a larger value would fail in the database (a 500)."""

ReturnCharLimit = Annotated[int, Field(ge=1, le=MAX_RETURN_CHAR_LIMIT)]
EnvVars = dict[
    Annotated[str, Field(min_length=1, pattern=ENV_NAME_PATTERN)], Annotated[str, Field(pattern=ENV_VALUE_PATTERN)]
]


class MCPPin(BaseModel):
    """`metadata_.mcp` of an MCP tool: which server's tool it calls, pinned to the definition it was added with."""

    model_config = ConfigDict(extra="allow")

    server_name: str
    tool_name: str
    fingerprint: str | None = None


class ToolMetadata(BaseModel):
    """The keys of a tool's `metadata_` that toolhub reads; other keys are the client's and kept as sent."""

    model_config = ConfigDict(extra="allow")

    timeout: float | None = Field(default=None, gt=0, le=MAX_TIMEOUT_S, strict=True, description="Seconds per call.")
    sandbox: SandboxType | None = Field(default=None, description="The sandbox that runs this tool.")
    mcp: MCPPin | None = None


class Tool(BaseModel):
    """A tool as Letta returns it, plus `schema_health` and `json_schema_strict` (our additions)."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    tool_type: str = "custom"
    description: str | None = None
    source_type: str | None = None
    name: str | None = None
    tags: list[str] = Field(default_factory=list)
    source_code: str | None = None
    json_schema: dict[str, Any] | None = None
    args_json_schema: dict[str, Any] | None = None
    return_char_limit: int = DEFAULT_RETURN_CHAR_LIMIT
    pip_requirements: list[PipRequirement] | None = None
    created_by_id: str | None = None
    last_updated_by_id: str | None = None
    metadata_: dict[str, Any] = Field(default_factory=dict)
    schema_health: str | None = Field(
        default=None, description="STRICT_COMPLIANT, NON_STRICT_ONLY or INVALID for OpenAI strict mode."
    )
    json_schema_strict: dict[str, Any] | None = Field(
        default=None, validation_alias="strict_json_schema", description="The OpenAI strict-mode variant."
    )
    default_requires_approval: bool | None = Field(
        default=None, description="Calls wait for the client's approval (agents may turn this off for themselves)."
    )
    enable_parallel_execution: bool | None = Field(
        default=False, description="Calls of one model answer may run concurrently when every called tool allows it."
    )


class ToolCreate(BaseModel):
    """Body of `POST /v1/tools/` and `PUT /v1/tools/`. No `name`: it comes from the function."""

    model_config = ConfigDict(extra="forbid")

    description: str | None = None
    tags: list[str] = Field(default_factory=list)
    source_code: str
    source_type: str = "python"
    json_schema: dict[str, Any] | None = None
    args_json_schema: dict[str, Any] | None = None
    return_char_limit: ReturnCharLimit = DEFAULT_RETURN_CHAR_LIMIT
    pip_requirements: list[PipRequirement] | None = None
    default_requires_approval: bool | None = None
    enable_parallel_execution: bool | None = False


class ToolUpdate(BaseModel):
    """Body of `PATCH /v1/tools/{id}`; unknown keys are ignored, as in Letta."""

    model_config = ConfigDict(extra="ignore")

    description: str | None = None
    tags: list[str] | None = None
    source_code: str | None = None
    source_type: str | None = None
    json_schema: dict[str, Any] | None = None
    args_json_schema: dict[str, Any] | None = None
    return_char_limit: ReturnCharLimit | None = None
    pip_requirements: list[PipRequirement] | None = None
    metadata_: ToolMetadata | None = Field(
        default=None, description="Checked here: a bad `timeout` or `sandbox` would otherwise fail every later run."
    )
    default_requires_approval: bool | None = None
    enable_parallel_execution: bool | None = None


class GenerateSchemaRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str


class ToolRunFromSource(BaseModel):
    """Body of `POST /v1/tools/run`."""

    model_config = ConfigDict(extra="forbid")

    source_code: str
    args: dict[str, Any]
    env_vars: EnvVars | None = None
    name: str | None = None
    source_type: str | None = None
    args_json_schema: dict[str, Any] | None = None
    json_schema: dict[str, Any] | None = None
    pip_requirements: list[PipRequirement] | None = None


class ToolRunRequest(BaseModel):
    """Body of `POST /v1/tools/{tool_id}/run` (toolhub's own route)."""

    model_config = ConfigDict(extra="forbid")

    args: dict[str, Any] = Field(default_factory=dict)
    env_vars: EnvVars | None = None


class ToolReturnMessage(BaseModel):
    """Letta's `tool_return_message`."""

    id: str
    date: datetime
    name: str | None = None
    message_type: Literal["tool_return_message"] = "tool_return_message"
    otid: str | None = None
    sender_id: str | None = None
    step_id: str | None = None
    tool_return: str
    status: Literal["success", "error"]
    tool_call_id: str
    stdout: list[str] | None = None
    stderr: list[str] | None = None
