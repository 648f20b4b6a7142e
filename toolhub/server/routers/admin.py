"""Admin routes (server password only): users, organizations and per-user API keys."""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from toolhub.server.deps import AdminPrincipal, Db, Users
from toolhub.server.listing import ListParams, list_params
from toolhub.server.routers import API_PREFIX
from toolhub.store.repositories import IdentityRepository

router = APIRouter(prefix=f"{API_PREFIX}/admin", tags=["admin"])


class OrmModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class UserOut(OrmModel):
    id: str
    organization_id: str
    name: str
    created_at: datetime
    updated_at: datetime
    is_deleted: bool = False


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=255)
    organization_id: str | None = None


class OrganizationOut(OrmModel):
    id: str
    name: str
    created_at: datetime


class OrganizationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=255)


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, max_length=255)


class ApiKeyOut(OrmModel):
    id: str
    user_id: str
    name: str | None
    key_prefix: str
    created_at: datetime
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="The API key itself. Shown only in this response; store it now.")


@router.get("/users", response_model=list[UserOut], operation_id="list_users")
async def list_users(_: AdminPrincipal, db: Db, page: Annotated[ListParams, list_params(limit=50, order="asc")]):
    """All users, oldest first (toolhub's own route: `order=asc` so new rows land on the last page)."""
    async with db.session() as session:
        return await IdentityRepository(session).list_users(**page.cursor())


@router.post("/users", response_model=UserOut, operation_id="create_user")
async def create_user(body: UserCreate, _: AdminPrincipal, db: Db):
    async with db.session() as session:
        return await IdentityRepository(session).create_user(body.name, body.organization_id)


@router.delete("/users", response_model=UserOut, operation_id="delete_user")
async def delete_user_by_query(_: AdminPrincipal, users: Users, user_id: str = Query(...)):
    """Letta's form: `DELETE /v1/admin/users?user_id=…`."""
    return await users.delete(user_id)


@router.delete("/users/{user_id}", response_model=UserOut, operation_id="delete_user_by_id")
async def delete_user(user_id: str, _: AdminPrincipal, users: Users):
    return await users.delete(user_id)


@router.get("/orgs", response_model=list[OrganizationOut], operation_id="list_orgs")
async def list_orgs(_: AdminPrincipal, db: Db, page: Annotated[ListParams, list_params(limit=50, order="asc")]):
    """All organizations, oldest first (as `list_users`)."""
    async with db.session() as session:
        return await IdentityRepository(session).list_organizations(**page.cursor())


@router.post("/orgs", response_model=OrganizationOut, operation_id="create_organization")
async def create_org(body: OrganizationCreate, _: AdminPrincipal, db: Db):
    async with db.session() as session:
        return await IdentityRepository(session).create_organization(body.name)


@router.post("/users/{user_id}/api-keys", response_model=ApiKeyCreated, operation_id="create_api_key")
async def create_api_key(user_id: str, _: AdminPrincipal, db: Db, body: ApiKeyCreate | None = None):
    async with db.session() as session:
        row, clear = await IdentityRepository(session).create_api_key(user_id, body.name if body else None)
        return ApiKeyCreated.model_validate({**ApiKeyOut.model_validate(row).model_dump(), "key": clear})


@router.get("/users/{user_id}/api-keys", response_model=list[ApiKeyOut], operation_id="list_api_keys")
async def list_api_keys(
    user_id: str, _: AdminPrincipal, db: Db, page: Annotated[ListParams, list_params(limit=50, order="asc")]
):
    """The user's keys, revoked ones included, oldest first (as `list_users`)."""
    async with db.session() as session:
        return await IdentityRepository(session).list_api_keys(user_id, **page.cursor())


@router.delete("/users/{user_id}/api-keys/{key_id}", response_model=ApiKeyOut, operation_id="revoke_api_key")
async def revoke_api_key(user_id: str, key_id: str, _: AdminPrincipal, db: Db):
    async with db.session() as session:
        return await IdentityRepository(session).revoke_api_key(user_id, key_id)
