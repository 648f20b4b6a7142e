"""`/v1/sandbox-config`: Letta's sandbox configuration and environment-variable routes (plus `docker`)."""

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.engine import make_url

from toolhub.config.settings import Settings
from toolhub.errors import ForbiddenError, InvalidInputError
from toolhub.sandbox.base import SandboxError
from toolhub.sandbox.config_models import (
    CONFIG_MODELS,
    ENV_NAME_PATTERN,
    ENV_VALUE_PATTERN,
    admin_only_changes,
    parse_sandbox_config,
    requirement_strings,
)
from toolhub.server.auth import Principal
from toolhub.server.deps import CurrentActor, CurrentPrincipal, Db
from toolhub.server.routers import API_PREFIX
from toolhub.store.models import SandboxConfig
from toolhub.store.repositories import Actor
from toolhub.store.repositories.sandbox_configs import SandboxConfigRepository, SandboxEnvVarRepository

router = APIRouter(prefix=f"{API_PREFIX}/sandbox-config", tags=["sandbox-config"])

MASK = "********"
MAX_PAGE = 10_000


class SandboxConfigOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    type: str
    organization_id: str
    config: dict[str, Any]
    created_by_id: str | None
    last_updated_by_id: str | None
    created_at: datetime
    updated_at: datetime


class SandboxConfigCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    config: dict[str, Any] = Field(description="A local, docker or e2b config; `type` inside picks one explicitly.")


class SandboxEnvVarOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    key: str
    value: str
    description: str | None
    organization_id: str
    sandbox_config_id: str
    created_by_id: str | None
    last_updated_by_id: str | None
    created_at: datetime
    updated_at: datetime


class SandboxEnvVarCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: str = Field(min_length=1, max_length=255, pattern=ENV_NAME_PATTERN)
    value: str = Field(pattern=ENV_VALUE_PATTERN)
    description: str | None = None


class SandboxEnvVarUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: str | None = Field(default=None, min_length=1, max_length=255, pattern=ENV_NAME_PATTERN)
    value: str | None = Field(default=None, pattern=ENV_VALUE_PATTERN)
    description: str | None = None


def _changed(request: Request, actor: Actor) -> None:
    """Tool calls read configs through a cache; this replica drops the organization's entries at once."""
    request.app.state.sandbox_configs.forget(lambda key: key[0] == actor.organization_id)


def _masked(row: Any) -> SandboxEnvVarOut:
    return SandboxEnvVarOut.model_validate(row).model_copy(update={"value": MASK})


def _check_admin_only(principal: Principal, kind: str, config: Mapping[str, Any], stored: Mapping[str, Any]) -> None:
    """403 naming each admin-only setting (see `config_models.ADMIN_ONLY`) a user API key would change."""
    changed = [] if principal.is_admin else admin_only_changes(kind, config, stored)
    if changed:
        raise ForbiddenError(
            f"Only the server admin (password) may set {', '.join(changed)} of a {kind} sandbox config; "
            "a user API key may not"
        )


def _check_sandbox_dir(settings: Settings, config: Mapping[str, Any]) -> None:
    """400 for a sandbox_dir that would expose the server's own files (its home holds the database and venvs),
    even when the admin asks: tools see that directory."""
    if not config.get("sandbox_dir"):
        return
    chosen = Path(config["sandbox_dir"]).expanduser().resolve()
    home = settings.home.resolve()
    if chosen == home or chosen in home.parents or home in chosen.parents:
        raise InvalidInputError(
            f"sandbox_dir {str(chosen)!r} is, contains or lies inside the server's home {str(home)!r} "
            "(TOOLHUB_HOME, which holds its database); pick a directory outside it"
        )
    for name, path in _server_files(settings):
        if chosen in path.parents:
            raise InvalidInputError(f"sandbox_dir {str(chosen)!r} contains the server's {name} {str(path)!r}")


def _server_files(settings: Settings) -> list[tuple[str, Path]]:
    files = [("MCP config (it holds secrets)", settings.effective_mcp_config.resolve())]
    if settings.is_sqlite:
        database = make_url(settings.effective_database_url).database or ""
        files.append(("SQLite database", Path(database).expanduser().resolve()))
    return files


def _checked(
    request: Request, principal: Principal, kind: str, config: Mapping[str, Any], stored: Mapping[str, Any]
) -> None:
    _check_admin_only(principal, kind, config, stored)
    _check_sandbox_dir(request.app.state.settings, config)


async def _put(
    request: Request,
    db: Db,
    actor: Actor,
    principal: Principal,
    body: dict[str, Any],
    sandbox_type: str | None = None,
) -> Any:
    kind, config = parse_sandbox_config(body, sandbox_type)
    async with db.session() as session:
        configs = SandboxConfigRepository(session, actor)
        stored = await configs.for_type(kind)
        _checked(request, principal, kind, config, stored.config if stored is not None else {})
        row = await configs.put(kind, config)
    _changed(request, actor)
    return row


async def _default(db: Db, actor: Actor, sandbox_type: str) -> Any:
    async with db.session() as session:
        default = CONFIG_MODELS[sandbox_type]().model_dump()
        return await SandboxConfigRepository(session, actor).get_or_create(sandbox_type, default)


@router.post("", response_model=SandboxConfigOut)
async def create_sandbox_config(
    body: SandboxConfigCreate, request: Request, principal: CurrentPrincipal, actor: CurrentActor, db: Db
) -> Any:
    """Create or replace the organization's config of the body's type (one config per type)."""
    return await _put(request, db, actor, principal, body.config)


@router.post("/local/default", response_model=SandboxConfigOut)
async def local_default(actor: CurrentActor, db: Db) -> Any:
    return await _default(db, actor, "local")


@router.post("/e2b/default", response_model=SandboxConfigOut)
async def e2b_default(actor: CurrentActor, db: Db) -> Any:
    return await _default(db, actor, "e2b")


@router.post("/docker/default", response_model=SandboxConfigOut)
async def docker_default(actor: CurrentActor, db: Db) -> Any:
    return await _default(db, actor, "docker")


@router.post("/local", response_model=SandboxConfigOut)
async def put_local(
    body: dict[str, Any], request: Request, principal: CurrentPrincipal, actor: CurrentActor, db: Db
) -> Any:
    return await _put(request, db, actor, principal, body, "local")


@router.post("/docker", response_model=SandboxConfigOut)
async def put_docker(
    body: dict[str, Any], request: Request, principal: CurrentPrincipal, actor: CurrentActor, db: Db
) -> Any:
    return await _put(request, db, actor, principal, body, "docker")


@router.post("/local/recreate-venv", response_model=SandboxConfigOut)
async def recreate_local_venv(request: Request, actor: CurrentActor, db: Db) -> Any:
    """Rebuild the virtualenv of the organization's local config requirements (a fresh install)."""
    row = await _default(db, actor, "local")
    requirements = requirement_strings(row.config.get("pip_requirements"))
    try:
        await request.app.state.executor.sandbox("local").recreate(requirements)
    except SandboxError as exc:
        raise InvalidInputError(f"Recreating the virtualenv failed: {type(exc).__name__}: {exc}") from None
    return row


@router.get("", response_model=list[SandboxConfigOut])
async def list_sandbox_configs(
    actor: CurrentActor,
    db: Db,
    limit: int = Query(1000, ge=1, le=MAX_PAGE),
    after: str | None = None,
    sandbox_type: str | None = Query(None, pattern="^(local|docker|e2b)$"),
) -> Any:
    conditions = [SandboxConfig.type == sandbox_type] if sandbox_type else []
    async with db.session() as session:
        return await SandboxConfigRepository(session, actor).list(*conditions, after=after, limit=limit)


@router.patch("/environment-variable/{env_var_id}", response_model=SandboxEnvVarOut)
async def update_env_var(
    env_var_id: str, body: SandboxEnvVarUpdate, request: Request, actor: CurrentActor, db: Db
) -> Any:
    async with db.session() as session:
        row = await SandboxEnvVarRepository(session, actor).update(env_var_id, body.model_dump(exclude_none=True))
    _changed(request, actor)
    return row


@router.delete("/environment-variable/{env_var_id}", status_code=204)
async def delete_env_var(env_var_id: str, request: Request, actor: CurrentActor, db: Db) -> Response:
    async with db.session() as session:
        await SandboxEnvVarRepository(session, actor).delete(env_var_id)
    _changed(request, actor)
    return Response(status_code=204)


@router.patch("/{sandbox_config_id}", response_model=SandboxConfigOut)
async def update_sandbox_config(
    sandbox_config_id: str,
    body: SandboxConfigCreate,
    request: Request,
    principal: CurrentPrincipal,
    actor: CurrentActor,
    db: Db,
) -> Any:
    async with db.session() as session:
        configs = SandboxConfigRepository(session, actor)
        row = await configs.get(sandbox_config_id)
        _, merged = parse_sandbox_config({**row.config, **body.config}, row.type)
        _checked(request, principal, row.type, merged, row.config)
        row.config = merged
        row = await configs.touch(row)
    _changed(request, actor)
    return row


@router.delete("/{sandbox_config_id}", status_code=204)
async def delete_sandbox_config(sandbox_config_id: str, request: Request, actor: CurrentActor, db: Db) -> Response:
    async with db.session() as session:
        await SandboxConfigRepository(session, actor).delete(sandbox_config_id)
    _changed(request, actor)
    return Response(status_code=204)


@router.post("/{sandbox_config_id}/environment-variable", response_model=SandboxEnvVarOut)
async def create_env_var(
    sandbox_config_id: str, body: SandboxEnvVarCreate, request: Request, actor: CurrentActor, db: Db
) -> Any:
    async with db.session() as session:
        await SandboxConfigRepository(session, actor).get(sandbox_config_id)
        row = await SandboxEnvVarRepository(session, actor).create(
            sandbox_config_id, body.key, body.value, body.description
        )
    _changed(request, actor)
    return row


@router.get("/{sandbox_config_id}/environment-variable", response_model=list[SandboxEnvVarOut])
async def list_env_vars(
    sandbox_config_id: str,
    actor: CurrentActor,
    db: Db,
    limit: int = Query(1000, ge=1, le=MAX_PAGE),
    after: str | None = None,
    reveal: bool = Query(False, description="Return values in clear (masked otherwise)."),
) -> Any:
    async with db.session() as session:
        await SandboxConfigRepository(session, actor).get(sandbox_config_id)
        rows = await SandboxEnvVarRepository(session, actor).for_config(sandbox_config_id, after, limit)
        return rows if reveal else [_masked(row) for row in rows]
