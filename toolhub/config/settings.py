"""Server settings from `TOOLHUB_*` environment variables (and Letta's names, for drop-in use)."""

import os
import re
import secrets
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from toolhub.errors import SettingsError
from toolhub.sandbox.registry import BACKENDS

ENV_PREFIX = "TOOLHUB_"
INSTANCE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
AgentType = Literal[
    "memgpt_agent",
    "memgpt_v2_agent",
    "letta_v1_agent",
    "react_agent",
    "workflow_agent",
    "split_thread_agent",
    "sleeptime_agent",
    "voice_convo_agent",
    "voice_sleeptime_agent",
]
"""Letta's agent types."""


class Settings(BaseSettings):
    """Everything the server reads from its environment. Unknown `TOOLHUB_*` names are refused."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", populate_by_name=True)

    home: Path = Field(default=Path("~/.toolhub"), description="Directory for the SQLite file, venvs and config.")
    database_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("TOOLHUB_DATABASE_URL", "LETTA_PG_URI"),
        description="SQLAlchemy async URL; default is a SQLite file in TOOLHUB_HOME.",
    )
    server_password: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("TOOLHUB_SERVER_PASSWORD", "LETTA_SERVER_PASSWORD"),
        description="When set, every route but health needs this password or a user API key.",
    )
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    max_request_mb: int = Field(
        default=16, ge=1, description="Largest request body accepted, in MiB; bigger ones get 413 before any parsing."
    )
    sandbox: str = Field(
        default="local", description=f"Default sandbox for custom Python tools: one of {', '.join(BACKENDS)}."
    )
    instance_id: str | None = Field(
        default=None,
        pattern=INSTANCE_ID_PATTERN,
        description="Labels this server's Docker sandbox containers, so that servers sharing one engine never remove "
        "each other's: give each its own (servers sharing one home may share one). Default a random id made once "
        "and kept in TOOLHUB_HOME/instance-id.",
    )

    encryption_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("TOOLHUB_ENCRYPTION_KEY", "LETTA_ENCRYPTION_KEY"),
        description="Encrypts agent secrets at rest; replicas sharing a database must share it. Default a random key "
        "made once and kept in TOOLHUB_HOME/encryption-key.",
    )
    default_model: str = Field(
        default="openai/gpt-4o-mini", description="The model handle (`provider/model`) of agents created without one."
    )
    default_agent_type: AgentType | None = Field(
        default=None,
        description="The agent_type of agents created without one, for every client. Default: memgpt_agent for "
        "letta-client 0.1.x, letta_v1_agent for 1.x.",
    )

    agent_reply_timeout_seconds: float = Field(
        default=300.0, gt=0, description="How long an agent waits for another agent's reply (multi-agent tools)."
    )
    run_workers: int = Field(
        default=4, ge=1, le=256, description="Background (async) runs executing at once; more wait for a worker."
    )
    approval_timeout_seconds: float | None = Field(
        default=None,
        gt=0,
        description="How long a tool call waits for the client's approval (or a client-side tool's return); after "
        "that it expires without running. Default: no limit.",
    )

    mcp_config: Path | None = Field(
        default=None, description="mcp_config.json to load and watch; default TOOLHUB_HOME/mcp_config.json."
    )
    mcp_disable_stdio: bool = Field(default=False, description="Refuse stdio MCP servers (no spawned processes).")
    mcp_connect_timeout: float = Field(default=30.0, gt=0)
    mcp_list_timeout: float = Field(default=30.0, gt=0)
    mcp_call_timeout: float = Field(default=60.0, gt=0)

    @field_validator("sandbox", mode="after")
    @classmethod
    def _known_backend(cls, value: str) -> str:
        if value not in BACKENDS:
            raise ValueError(f"must be one of {', '.join(BACKENDS)} (no other sandbox has a backend on this server)")
        return value

    @field_validator("default_model", mode="after")
    @classmethod
    def _model_handle(cls, value: str) -> str:
        provider, _, model = value.partition("/")
        if not provider or not model:
            raise ValueError("must be a model handle 'provider/model', e.g. openai/gpt-4o-mini")
        return value

    @field_validator("home", mode="after")
    @classmethod
    def _expand_home(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @field_validator("database_url", mode="after")
    @classmethod
    def _async_driver(cls, value: str | None) -> str | None:
        """Accept plain `postgresql://` URLs (as Letta's LETTA_PG_URI is written) and use asyncpg."""
        if value is None:
            return None
        for plain in ("postgresql://", "postgres://", "postgresql+psycopg2://"):
            if value.startswith(plain):
                return "postgresql+asyncpg://" + value[len(plain) :]
        if value.startswith("sqlite://") and not value.startswith("sqlite+aiosqlite://"):
            return "sqlite+aiosqlite://" + value[len("sqlite://") :]
        if not value.startswith(("postgresql+asyncpg://", "sqlite+aiosqlite://")):
            raise ValueError("must be a postgresql:// or sqlite:// URL")
        return value

    @cached_property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{self.home / 'toolhub.db'}"

    @property
    def is_sqlite(self) -> bool:
        return self.effective_database_url.startswith("sqlite")

    @cached_property
    def effective_instance_id(self) -> str:
        """`instance_id`, else the one kept in the home, made on first use: a restart keeps it, another home has
        another."""
        return self.instance_id or _stored_instance_id(self.home / "instance-id")

    @property
    def effective_mcp_config(self) -> Path:
        return (self.mcp_config or self.home / "mcp_config.json").expanduser()


def _stored_instance_id(path: Path) -> str:
    """Read the id in `path`, writing a random one first when there is none; two first starts agree on one id."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
        draft.write_text(f"toolhub-{secrets.token_hex(8)}\n")
        try:
            os.link(draft, path)  # atomic, and never replaces an id another start wrote meanwhile
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    stored = path.read_text().strip()
    if not re.match(INSTANCE_ID_PATTERN, stored):
        raise SettingsError(f"{path} holds {stored!r}, not an instance id: fix or delete it")
    return stored


def _unknown_env_names() -> list[str]:
    known = {ENV_PREFIX + name.upper() for name in Settings.model_fields}
    return sorted(k for k in os.environ if k.startswith(ENV_PREFIX) and k not in known)


def load_settings() -> Settings:
    """Build settings from the environment, turning every problem into one message that names the setting."""
    unknown = _unknown_env_names()
    if unknown:
        known = ", ".join(ENV_PREFIX + n.upper() for n in Settings.model_fields)
        raise SettingsError(f"Unknown setting {', '.join(unknown)} (known settings: {known})")
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(f"{_env_name(err['loc'])}: {err['msg']}" for err in exc.errors(include_url=False))
        raise SettingsError(f"Invalid setting {problems}") from None


def _env_name(loc: tuple) -> str:
    name = str(loc[0]) if loc else "?"
    return name if name.isupper() else ENV_PREFIX + name.upper()
