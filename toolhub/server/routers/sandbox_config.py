"""`/v1/sandbox-config`: Letta's sandbox configuration and environment-variable routes (plus `docker`)."""

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from toolhub.errors import InvalidInputError
from toolhub.sandbox.base import SandboxError
from toolhub.sandbox.config_models import CONFIG_MODELS, parse_sandbox_config, requirement_strings
from toolhub.server.deps import CurrentActor, Db
from toolhub.server.routers import API_PREFIX
from toolhub.store.models import SandboxConfig
from toolhub.store.repositories import Actor
from toolhub.store.repositories.sandbox_configs import SandboxConfigRepository, SandboxEnvVarRepository

router = APIRouter(prefix=f"{API_PREFIX}/sandbox-config", tags=["sandbox-config"])

MASK = "********"


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
    key: str = Field(min_length=1, max_length=255)
    value: str
    description: str | None = None


class SandboxEnvVarUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: str | None = Field(default=None, min_length=1, max_length=255)
    value: str | None = None
    description: str | None = None


def _changed(request: Request, actor: Actor) -> None:
    """Tool calls read configs through a cache; this replica drops the organization's entries at once."""
    request.app.state.sandbox_configs.forget(lambda key: key[0] == actor.organization_id)


def _masked(row: Any) -> SandboxEnvVarOut:
    return SandboxEnvVarOut.model_validate(row).model_copy(update={"value": MASK})


async def _put(request: Request, db: Db, actor: Actor, body: dict[str, Any], sandbox_type: str | None = None) -> Any:
    kind, config = parse_sandbox_config(body, sandbox_type)
    async with db.session() as session:
        row = await SandboxConfigRepository(session, actor).put(kind, config)
    _changed(request, actor)
    return row


async def _default(db: Db, actor: Actor, sandbox_type: str) -> Any:
    async with db.session() as session:
        default = CONFIG_MODELS[sandbox_type]().model_dump()
        return await SandboxConfigRepository(session, actor).get_or_create(sandbox_type, default)


@router.post("", response_model=SandboxConfigOut)
async def create_sandbox_config(body: SandboxConfigCreate, request: Request, actor: CurrentActor, db: Db) -> Any:
    """Create or replace the organization's config of the body's type (one config per type)."""
    return await _put(request, db, actor, body.config)


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
async def put_local(body: dict[str, Any], request: Request, actor: CurrentActor, db: Db) -> Any:
    return await _put(request, db, actor, body, "local")


@router.post("/docker", response_model=SandboxConfigOut)
async def put_docker(body: dict[str, Any], request: Request, actor: CurrentActor, db: Db) -> Any:
    return await _put(request, db, actor, body, "docker")


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
    limit: int = Query(1000, ge=1),
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
    sandbox_config_id: str, body: SandboxConfigCreate, request: Request, actor: CurrentActor, db: Db
) -> Any:
    async with db.session() as session:
        configs = SandboxConfigRepository(session, actor)
        row = await configs.get(sandbox_config_id)
        _, row.config = parse_sandbox_config({**row.config, **body.config}, row.type)
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
    limit: int = Query(1000, ge=1),
    after: str | None = None,
    reveal: bool = Query(False, description="Return values in clear (masked otherwise)."),
) -> Any:
    async with db.session() as session:
        await SandboxConfigRepository(session, actor).get(sandbox_config_id)
        rows = await SandboxEnvVarRepository(session, actor).for_config(sandbox_config_id, after, limit)
        return rows if reveal else [_masked(row) for row in rows]
