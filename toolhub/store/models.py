"""SQLAlchemy tables. Every tenant-owned row carries `organization_id` (see `OrgOwned`)."""

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC on the way out, also on SQLite (which stores no offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return value.astimezone(timezone.utc) if value.tzinfo else value.replace(tzinfo=timezone.utc)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON, datetime: UTCDateTime}


class Timestamps:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Organization(Timestamps, Base):
    __tablename__ = "organizations"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))


class OrgOwned(Timestamps):
    """Mixin for every resource owned by an organization; repositories filter on this column."""

    organization_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    created_by_id: Mapped[str | None] = mapped_column(String(64), default=None)
    last_updated_by_id: Mapped[str | None] = mapped_column(String(64), default=None)


class User(OrgOwned, Base):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))


class ApiKey(Base):
    """A per-user API key; only its SHA-256 is stored, the key itself is shown once."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(64), ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str | None] = mapped_column(String(255), default=None)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    key_prefix: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)


class Tool(OrgOwned, Base):
    """A registered tool. Names are unique per organization (the key for upsert)."""

    __tablename__ = "tools"
    __table_args__ = (UniqueConstraint("organization_id", "name", name="uq_tools_org_name"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    tool_type: Mapped[str] = mapped_column(String(64), default="custom")
    description: Mapped[str | None] = mapped_column(Text, default=None)
    source_type: Mapped[str | None] = mapped_column(String(32), default="python")
    source_code: Mapped[str | None] = mapped_column(Text, default=None)
    json_schema: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    args_json_schema: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    strict_json_schema: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    schema_health: Mapped[str | None] = mapped_column(String(32), default=None)
    return_char_limit: Mapped[int] = mapped_column(Integer, default=6000)
    pip_requirements: Mapped[list[Any] | None] = mapped_column(JSON, default=None)
    tags: Mapped[list[Any]] = mapped_column(JSON, default=list)
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata_", JSON, default=dict)
    default_requires_approval: Mapped[bool | None] = mapped_column(Boolean, default=None)
    """A call waits for the client's approval (unless an agent turned that off for itself)."""
    enable_parallel_execution: Mapped[bool | None] = mapped_column(Boolean, default=False)
    """Calls of one model answer may run concurrently when every called tool allows it."""


class SandboxConfig(OrgOwned, Base):
    """One sandbox configuration per type (`local`, `docker`, `e2b`) per organization."""

    __tablename__ = "sandbox_configs"
    __table_args__ = (UniqueConstraint("organization_id", "type", name="uq_sandbox_configs_org_type"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    type: Mapped[str] = mapped_column(String(16))
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class SandboxEnvVar(OrgOwned, Base):
    """An environment variable every tool run under `sandbox_config_id` receives."""

    __tablename__ = "sandbox_env_vars"
    __table_args__ = (UniqueConstraint("sandbox_config_id", "key", name="uq_sandbox_env_vars_config_key"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    sandbox_config_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("sandbox_configs.id", ondelete="CASCADE"), index=True
    )
    key: Mapped[str] = mapped_column(String(255))
    value: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text, default=None)


class MCPServer(OrgOwned, Base):
    """An MCP server added through the API (servers from mcp_config.json are not stored)."""

    __tablename__ = "mcp_servers"
    __table_args__ = (UniqueConstraint("organization_id", "server_name", name="uq_mcp_servers_org_name"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    server_name: Mapped[str] = mapped_column(String(255))
    server_type: Mapped[str] = mapped_column(String(32))
    config: Mapped[dict[str, Any]] = mapped_column(JSON)


class Agent(OrgOwned, Base):
    """An agent: its prompt, model, rules and settings. Tools, blocks and secrets hang off it in their own tables."""

    __tablename__ = "agents"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    agent_type: Mapped[str] = mapped_column(String(64))
    system: Mapped[str] = mapped_column(Text, default="")
    description: Mapped[str | None] = mapped_column(Text, default=None)
    tags: Mapped[list[Any]] = mapped_column(JSON, default=list)
    metadata_: Mapped[dict[str, Any] | None] = mapped_column("metadata_", JSON, default=None)
    tool_rules: Mapped[list[Any]] = mapped_column(JSON, default=list)
    model: Mapped[str | None] = mapped_column(String(255), default=None)
    """The LLM handle, `provider/model`."""
    embedding: Mapped[str | None] = mapped_column(String(255), default=None)
    llm_config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    embedding_config: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    model_settings: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    response_format: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    message_buffer_autoclear: Mapped[bool] = mapped_column(Boolean, default=False)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    hidden: Mapped[bool | None] = mapped_column(Boolean, default=None)
    last_stop_reason: Mapped[str | None] = mapped_column(String(64), default=None)
    last_run_completion: Mapped[datetime | None] = mapped_column(default=None)
    last_run_duration_ms: Mapped[int | None] = mapped_column(Integer, default=None)
    pending_approval: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    """The calls the agent waits on the client for (`toolhub.agent.approvals.PendingApproval`), if any."""


class Block(OrgOwned, Base):
    """A memory block. `owner_agent_id` marks a block made with an agent (`memory_blocks`): it goes with that agent
    unless another agent shares it by then."""

    __tablename__ = "blocks"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    label: Mapped[str] = mapped_column(String(255))
    value: Mapped[str] = mapped_column(Text, default="")
    limit: Mapped[int] = mapped_column(Integer, default=100_000)
    description: Mapped[str | None] = mapped_column(Text, default=None)
    read_only: Mapped[bool] = mapped_column(Boolean, default=False)
    hidden: Mapped[bool | None] = mapped_column(Boolean, default=None)
    is_template: Mapped[bool] = mapped_column(Boolean, default=False)
    template_name: Mapped[str | None] = mapped_column(String(255), default=None)
    preserve_on_migration: Mapped[bool | None] = mapped_column(Boolean, default=None)
    tags: Mapped[list[Any] | None] = mapped_column(JSON, default=None)
    metadata_: Mapped[dict[str, Any] | None] = mapped_column("metadata_", JSON, default=None)
    owner_agent_id: Mapped[str | None] = mapped_column(String(64), default=None, index=True)


class AgentBlock(Base):
    """A block attached to an agent; labels are unique per agent (checked by the service)."""

    __tablename__ = "agent_blocks"

    agent_id: Mapped[str] = mapped_column(String(64), ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True)
    block_id: Mapped[str] = mapped_column(String(64), ForeignKey("blocks.id", ondelete="CASCADE"), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AgentTool(Base):
    """A tool attached to an agent."""

    __tablename__ = "agent_tools"

    agent_id: Mapped[str] = mapped_column(String(64), ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True)
    tool_id: Mapped[str] = mapped_column(String(64), ForeignKey("tools.id", ondelete="CASCADE"), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    requires_approval: Mapped[bool | None] = mapped_column(Boolean, default=None)
    """This agent's choice (`PATCH /v1/agents/{id}/tools/approval/{name}`); None: the tool's default."""


class AgentSecret(OrgOwned, Base):
    """One of an agent's `secrets` (Letta's `tool_exec_environment_variables`); `value` is encrypted at rest."""

    __tablename__ = "agent_secrets"
    __table_args__ = (UniqueConstraint("agent_id", "key", name="uq_agent_secrets_agent_key"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    agent_id: Mapped[str] = mapped_column(String(64), ForeignKey("agents.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(255))
    value: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text, default=None)


class Run(OrgOwned, Base):
    """One message request to an agent, from start to stop reason."""

    __tablename__ = "runs"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    agent_id: Mapped[str] = mapped_column(String(64), ForeignKey("agents.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(32), default="created")
    stop_reason: Mapped[str | None] = mapped_column(String(64), default=None)
    background: Mapped[bool] = mapped_column(Boolean, default=False)
    metadata_: Mapped[dict[str, Any] | None] = mapped_column("metadata_", JSON, default=None)
    request_config: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    usage: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    completed_at: Mapped[datetime | None] = mapped_column(default=None)
    total_duration_ns: Mapped[int | None] = mapped_column(BigInteger, default=None)
    instance_id: Mapped[str | None] = mapped_column(String(64), default=None, index=True)
    """The server executing the run; at start-up a server fails its own runs left unfinished by a crash."""
    callback_url: Mapped[str | None] = mapped_column(Text, default=None)
    callback_sent_at: Mapped[datetime | None] = mapped_column(default=None)
    callback_status_code: Mapped[int | None] = mapped_column(Integer, default=None)
    callback_error: Mapped[str | None] = mapped_column(Text, default=None)


class Step(OrgOwned, Base):
    """One loop step of a run: one LLM call and what its tool calls did."""

    __tablename__ = "steps"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    agent_id: Mapped[str] = mapped_column(String(64), ForeignKey("agents.id", ondelete="CASCADE"), index=True)
    run_id: Mapped[str | None] = mapped_column(String(64), ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    model: Mapped[str | None] = mapped_column(String(255), default=None)
    provider_request_id: Mapped[str | None] = mapped_column(String(255), default=None)
    prompt_tokens: Mapped[int] = mapped_column(Integer, default=0)
    completion_tokens: Mapped[int] = mapped_column(Integer, default=0)
    total_tokens: Mapped[int] = mapped_column(Integer, default=0)
    llm_ms: Mapped[float | None] = mapped_column(default=None)
    tools_ms: Mapped[float | None] = mapped_column(default=None)
    stop_reason: Mapped[str | None] = mapped_column(String(64), default=None)


class Message(OrgOwned, Base):
    """A stored message in the provider-neutral form the loop builds its context from; the API's message types
    (reasoning, tool call, tool return, assistant ...) are views of it. `created_at` is strictly increasing per
    agent, so (created_at, id) pages in conversation order."""

    __tablename__ = "messages"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    agent_id: Mapped[str] = mapped_column(String(64), ForeignKey("agents.id", ondelete="CASCADE"), index=True)
    run_id: Mapped[str | None] = mapped_column(String(64), default=None, index=True)
    step_id: Mapped[str | None] = mapped_column(String(64), default=None)
    role: Mapped[str] = mapped_column(String(16))
    """system, user, assistant, tool, or approval (the client's answers to calls that waited for it)."""
    content: Mapped[str | None] = mapped_column(Text, default=None)
    reasoning: Mapped[str | None] = mapped_column(Text, default=None)
    tool_calls: Mapped[list[Any] | None] = mapped_column(JSON, default=None)
    """`[{"id", "name", "arguments"}]` on an assistant message."""
    tool_call_id: Mapped[str | None] = mapped_column(String(255), default=None)
    tool_returns: Mapped[list[Any] | None] = mapped_column(JSON, default=None)
    """`[{"tool_call_id", "name", "status", "tool_return", "stdout", "stderr"}]` on a tool message."""
    name: Mapped[str | None] = mapped_column(String(255), default=None)
    otid: Mapped[str | None] = mapped_column(String(255), default=None)
    sender_id: Mapped[str | None] = mapped_column(String(255), default=None)
    is_err: Mapped[bool] = mapped_column(Boolean, default=False)
    in_context: Mapped[bool] = mapped_column(Boolean, default=True)
    """False once the agent's messages were reset: kept in history, no longer sent to the model."""
    requested_approval: Mapped[list[Any] | None] = mapped_column(JSON, default=None)
    """On an assistant message: the ids of its calls put to the client (approval or client-side tool)."""
    approvals: Mapped[list[Any] | None] = mapped_column(JSON, default=None)
    """On an `approval` message: the client's answers."""
    approval_request_id: Mapped[str | None] = mapped_column(String(64), default=None)
    """On an `approval` message: the assistant message whose calls it answers."""


class MCPProfile(OrgOwned, Base):
    """A subset of the organization's tools served at `/mcp/{name}`: the tools with any of `tags` or one of
    `tool_ids` (a tool in neither is not served there; an empty profile serves nothing)."""

    __tablename__ = "mcp_profiles"
    __table_args__ = (UniqueConstraint("organization_id", "name", name="uq_mcp_profiles_org_name"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    description: Mapped[str | None] = mapped_column(Text, default=None)
    tags: Mapped[list[Any]] = mapped_column(JSON, default=list)
    tool_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)
