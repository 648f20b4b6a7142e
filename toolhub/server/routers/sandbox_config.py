"""`/v1/sandbox-config`: Letta's sandbox configuration and environment-variable routes (plus `docker`)."""

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from toolhub.sandbox.config_models import ENV_NAME_PATTERN, ENV_VALUE_PATTERN, SandboxType
from toolhub.server.deps import CurrentActor, CurrentPrincipal, SandboxConfigs
from toolhub.server.listing import ListParams, list_params
from toolhub.server.routers import API_PREFIX

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
    key: str = Field(min_length=1, max_length=255, pattern=ENV_NAME_PATTERN)
    value: str = Field(pattern=ENV_VALUE_PATTERN)
    description: str | None = None


class SandboxEnvVarUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: str | None = Field(default=None, min_length=1, max_length=255, pattern=ENV_NAME_PATTERN)
    value: str | None = Field(default=None, pattern=ENV_VALUE_PATTERN)
    description: str | None = None


def _masked(row: Any) -> SandboxEnvVarOut:
    return SandboxEnvVarOut.model_validate(row).model_copy(update={"value": MASK})


@router.post("", response_model=SandboxConfigOut)
async def create_sandbox_config(
    body: SandboxConfigCreate, principal: CurrentPrincipal, actor: CurrentActor, configs: SandboxConfigs
) -> Any:
    """Create or replace the organization's config of the body's type (one config per type)."""
    return await configs.put(actor, body.config, is_admin=principal.is_admin)


@router.post("/local/default", response_model=SandboxConfigOut)
async def local_default(actor: CurrentActor, configs: SandboxConfigs) -> Any:
    return await configs.default(actor, "local")


@router.post("/e2b/default", response_model=SandboxConfigOut)
async def e2b_default(actor: CurrentActor, configs: SandboxConfigs) -> Any:
    return await configs.default(actor, "e2b")


@router.post("/docker/default", response_model=SandboxConfigOut)
async def docker_default(actor: CurrentActor, configs: SandboxConfigs) -> Any:
    return await configs.default(actor, "docker")


@router.post("/local", response_model=SandboxConfigOut)
async def put_local(
    body: dict[str, Any], principal: CurrentPrincipal, actor: CurrentActor, configs: SandboxConfigs
) -> Any:
    return await configs.put(actor, body, "local", is_admin=principal.is_admin)


@router.post("/docker", response_model=SandboxConfigOut)
async def put_docker(
    body: dict[str, Any], principal: CurrentPrincipal, actor: CurrentActor, configs: SandboxConfigs
) -> Any:
    return await configs.put(actor, body, "docker", is_admin=principal.is_admin)


@router.post("/local/recreate-venv", response_model=SandboxConfigOut)
async def recreate_local_venv(actor: CurrentActor, configs: SandboxConfigs) -> Any:
    """Rebuild the virtualenv of the organization's local config requirements (a fresh install)."""
    return await configs.recreate_local_venv(actor)


@router.get("", response_model=list[SandboxConfigOut])
async def list_sandbox_configs(
    actor: CurrentActor,
    configs: SandboxConfigs,
    page: Annotated[ListParams, list_params(limit=1000, order="asc")],
    sandbox_type: SandboxType | None = None,
) -> Any:
    """Letta's defaults (limit 1000, oldest first); `before` and `order` are toolhub's additions."""
    return await configs.list(actor, sandbox_type, **page.cursor())


@router.patch("/environment-variable/{env_var_id}", response_model=SandboxEnvVarOut)
async def update_env_var(
    env_var_id: str, body: SandboxEnvVarUpdate, actor: CurrentActor, configs: SandboxConfigs
) -> Any:
    return await configs.update_env_var(actor, env_var_id, body.model_dump(exclude_none=True))


@router.delete("/environment-variable/{env_var_id}", status_code=204)
async def delete_env_var(env_var_id: str, actor: CurrentActor, configs: SandboxConfigs) -> Response:
    await configs.delete_env_var(actor, env_var_id)
    return Response(status_code=204)


@router.patch("/{sandbox_config_id}", response_model=SandboxConfigOut)
async def update_sandbox_config(
    sandbox_config_id: str,
    body: SandboxConfigCreate,
    principal: CurrentPrincipal,
    actor: CurrentActor,
    configs: SandboxConfigs,
) -> Any:
    return await configs.update(actor, sandbox_config_id, body.config, is_admin=principal.is_admin)


@router.delete("/{sandbox_config_id}", status_code=204)
async def delete_sandbox_config(sandbox_config_id: str, actor: CurrentActor, configs: SandboxConfigs) -> Response:
    await configs.delete(actor, sandbox_config_id)
    return Response(status_code=204)


@router.post("/{sandbox_config_id}/environment-variable", response_model=SandboxEnvVarOut)
async def create_env_var(
    sandbox_config_id: str, body: SandboxEnvVarCreate, actor: CurrentActor, configs: SandboxConfigs
) -> Any:
    return await configs.create_env_var(actor, sandbox_config_id, body.key, body.value, body.description)


@router.get("/{sandbox_config_id}/environment-variable", response_model=list[SandboxEnvVarOut])
async def list_env_vars(
    sandbox_config_id: str,
    actor: CurrentActor,
    configs: SandboxConfigs,
    page: Annotated[ListParams, list_params(limit=1000, order="asc")],
    reveal: bool = Query(False, description="Return values in clear (masked otherwise)."),
) -> Any:
    """Letta's defaults (limit 1000, oldest first); `before` and `order` are toolhub's additions."""
    rows = await configs.env_vars(actor, sandbox_config_id, **page.cursor())
    return rows if reveal else [_masked(row) for row in rows]
