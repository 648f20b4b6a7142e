"""SQLAlchemy tables. Every tenant-owned row carries `organization_id` (see `OrgOwned`)."""

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
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
