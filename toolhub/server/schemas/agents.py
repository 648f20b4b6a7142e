"""Agents on the wire: Letta's `AgentState` as both SDK generations read it, the create and update bodies, and the
agent tool-run exchange.

Unknown body fields are ignored, as Letta ignores them on agent create and update. Tool rules have Letta's shapes
(`toolhub.tools.rules`): an unknown `type` or a missing field is a 422; the service checks the tools they name.
"""

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any, Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from toolhub.config.settings import AgentType
from toolhub.sandbox.config_models import ENV_NAME_PATTERN, ENV_VALUE_PATTERN
from toolhub.server.schemas.blocks import Block, BlockCreate
from toolhub.server.schemas.messages import ApprovalRequestMessage
from toolhub.store.models import Agent as AgentRow
from toolhub.store.models import Block as BlockRow
from toolhub.store.models import Tool as ToolRow
from toolhub.tools.model import Tool
from toolhub.tools.rules import ToolRule

Relation = Literal["tools", "blocks", "secrets", "tags", "pending_approval"]
"""What an AgentState may carry beyond the agent's own columns; 1.x clients get only what they `include`."""
ALL_RELATIONS: frozenset[Relation] = frozenset(get_args(Relation))

Include = Literal[
    "agent.blocks",
    "agent.identities",
    "agent.managed_group",
    "agent.pending_approval",
    "agent.secrets",
    "agent.sources",
    "agent.tags",
    "agent.tools",
]
"""The 1.x `include=` values (those naming what toolhub has no store for select nothing)."""

SecretValues = dict[
    Annotated[str, Field(min_length=1, max_length=255, pattern=ENV_NAME_PATTERN)],
    Annotated[str, Field(pattern=ENV_VALUE_PATTERN)] | None,
]
"""`{NAME: value}`; a null value is an empty string."""
Handle = Annotated[str, Field(min_length=1, max_length=255)]


def _known_timezone(value: str | None) -> str | None:
    if value is not None:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}; use an IANA name such as 'UTC' or 'Europe/Paris'") from None
    return value


TimeZone = Annotated[str | None, AfterValidator(_known_timezone)]


class LLMConfigIn(BaseModel):
    """A client-sent `llm_config` (deprecated in 1.x): stored as given."""

    model_config = ConfigDict(extra="allow")

    model: str = Field(min_length=1)
    model_endpoint_type: str = Field(min_length=1)
    context_window: int | None = Field(default=None, ge=1)
    handle: str | None = None


class EmbeddingConfigIn(BaseModel):
    """A client-sent `embedding_config` (deprecated in 1.x): stored as given."""

    model_config = ConfigDict(extra="allow")

    embedding_endpoint_type: str = Field(min_length=1)
    embedding_model: str = Field(min_length=1)
    embedding_dim: int = Field(ge=1)
    handle: str | None = None


class _AgentFields(BaseModel):
    """What create and update share."""

    model_config = ConfigDict(extra="ignore")

    name: str | None = Field(default=None, min_length=1, max_length=255)
    system: str | None = None
    description: str | None = None
    tool_ids: list[str] | None = None
    block_ids: list[str] | None = None
    tool_rules: list[ToolRule] | None = None
    tags: list[str] | None = None
    metadata: dict[str, Any] | None = None
    model: Handle | None = None
    """`provider/model`."""
    embedding: Handle | None = None
    llm_config: LLMConfigIn | None = None
    embedding_config: EmbeddingConfigIn | None = None
    context_window_limit: int | None = Field(default=None, ge=1)
    max_tokens: int | None = Field(default=None, ge=1)
    secrets: SecretValues | None = None
    tool_exec_environment_variables: SecretValues | None = None
    """Letta 0.8's name for `secrets`: one store, and sending either replaces the whole set."""
    message_buffer_autoclear: bool | None = None
    timezone: TimeZone = None
    model_settings: dict[str, Any] | None = None
    response_format: dict[str, Any] | None = None
    hidden: bool | None = None
    parallel_tool_calls: bool | None = None
    """Deprecated 1.x field: whether the model may call several tools in one answer (kept in `llm_config`)."""


class AgentCreate(_AgentFields):
    """Body of `POST /v1/agents/`."""

    agent_type: AgentType | None = None
    """Default: the server's `default_agent_type`, else memgpt_agent for 0.1.x clients and letta_v1_agent for 1.x."""
    memory_blocks: list[BlockCreate] | None = None
    tools: list[str] | None = None
    """Tool names."""
    include_base_tools: bool | None = None
    """Default true: the base tools of the agent type."""
    include_base_tool_rules: bool | None = None
    """Default: as `include_base_tools` (never for letta_v1_agent, which has no rules)."""
    include_multi_agent_tools: bool | None = None


class AgentUpdate(_AgentFields):
    """Body of `PATCH /v1/agents/{id}`: only the fields sent (and not null) change; `tool_ids`, `block_ids`,
    `tool_rules` and the secrets replace what the agent had."""

    last_run_completion: datetime | None = None
    last_run_duration_ms: int | None = Field(default=None, ge=0)
    last_stop_reason: str | None = Field(default=None, max_length=64)


class AgentEnvironmentVariable(BaseModel):
    """One of an agent's secrets; `value` in clear, `value_enc` as stored (encrypted)."""

    id: str
    key: str
    value: str
    value_enc: str | None = None
    description: str | None = None
    organization_id: str | None = None
    agent_id: str
    created_by_id: str | None = None
    last_updated_by_id: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


class Memory(BaseModel):
    agent_type: str | None = None
    git_enabled: bool = False
    blocks: list[Block] = Field(default_factory=list)
    file_blocks: list[Block] = Field(default_factory=list)
    prompt_template: str = ""


class AgentState(BaseModel):
    """An agent as both SDK generations read it (0.1.x: `tool_exec_environment_variables`, `memory`; 1.x also
    `secrets`, `blocks`, `model`, `last_stop_reason`)."""

    created_by_id: str | None = None
    last_updated_by_id: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    id: str
    name: str
    tool_rules: list[dict[str, Any]] = Field(default_factory=list)
    message_ids: list[str] = Field(default_factory=list)
    system: str
    agent_type: str
    llm_config: dict[str, Any]
    embedding_config: dict[str, Any] | None = None
    model: str | None = None
    embedding: str | None = None
    model_settings: dict[str, Any] | None = None
    compaction_settings: dict[str, Any] | None = None
    response_format: dict[str, Any] | None = None
    description: str | None = None
    metadata: dict[str, Any] | None = None
    memory: Memory
    blocks: list[Block] = Field(default_factory=list)
    tools: list[Tool] = Field(default_factory=list)
    sources: list[Any] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    tool_exec_environment_variables: list[AgentEnvironmentVariable] = Field(default_factory=list)
    secrets: list[AgentEnvironmentVariable] = Field(default_factory=list)
    project_id: str | None = None
    template_id: str | None = None
    base_template_id: str | None = None
    deployment_id: str | None = None
    entity_id: str | None = None
    identity_ids: list[str] = Field(default_factory=list)
    identities: list[Any] = Field(default_factory=list)
    pending_approval: ApprovalRequestMessage | None = None
    """The calls the agent waits on the client for (an `approval_request_message`), if any."""
    message_buffer_autoclear: bool = False
    enable_sleeptime: bool | None = None
    multi_agent_group: dict[str, Any] | None = None
    managed_group: dict[str, Any] | None = None
    last_run_completion: datetime | None = None
    last_run_duration_ms: int | None = None
    last_stop_reason: str | None = None
    timezone: str = "UTC"
    max_files_open: int = 5
    per_file_view_window_char_limit: int = 15_000
    hidden: bool | None = None


def agent_state(
    row: AgentRow,
    *,
    tools: Sequence[ToolRow] = (),
    blocks: Sequence[BlockRow] = (),
    secrets: Sequence[AgentEnvironmentVariable] = (),
    message_ids: Sequence[str] = (),
    with_tags: bool = True,
    pending_approval: ApprovalRequestMessage | None = None,
) -> AgentState:
    """The AgentState of `row` with the relationships given (a relationship not loaded is an empty list)."""
    wire_blocks = [Block.from_row(block) for block in blocks]
    return AgentState(
        created_by_id=row.created_by_id,
        last_updated_by_id=row.last_updated_by_id,
        created_at=row.created_at,
        updated_at=row.updated_at,
        id=row.id,
        name=row.name,
        tool_rules=list(row.tool_rules or []),
        message_ids=list(message_ids),
        system=row.system,
        agent_type=row.agent_type,
        llm_config=row.llm_config,
        embedding_config=row.embedding_config,
        model=row.model,
        embedding=row.embedding,
        model_settings=row.model_settings,
        response_format=row.response_format,
        description=row.description,
        metadata=row.metadata_,
        memory=Memory(agent_type=row.agent_type, blocks=wire_blocks),
        blocks=wire_blocks,
        tools=[Tool.model_validate(tool) for tool in tools],
        tags=list(row.tags or []) if with_tags else [],
        tool_exec_environment_variables=list(secrets),
        secrets=list(secrets),
        message_buffer_autoclear=row.message_buffer_autoclear,
        last_run_completion=row.last_run_completion,
        last_run_duration_ms=row.last_run_duration_ms,
        last_stop_reason=row.last_stop_reason,
        timezone=row.timezone,
        hidden=row.hidden,
        pending_approval=pending_approval,
    )


class ToolExecuteRequest(BaseModel):
    """Body of `POST /v1/agents/{id}/tools/{tool_name}/run`."""

    model_config = ConfigDict(extra="ignore")

    args: dict[str, Any] = Field(default_factory=dict)


class ToolExecutionResult(BaseModel):
    """What `POST /v1/agents/{id}/tools/{tool_name}/run` answers, as Letta does."""

    status: Literal["success", "error"]
    func_return: Any = None
    agent_state: AgentState | None = None
    stdout: list[str] = Field(default_factory=list)
    stderr: list[str] = Field(default_factory=list)
    sandbox_config_fingerprint: str | None = None


class ModifyApprovalRequest(BaseModel):
    """Body of `PATCH /v1/agents/{id}/tools/approval/{tool_name}`."""

    model_config = ConfigDict(extra="forbid")

    requires_approval: bool
