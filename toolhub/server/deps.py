"""FastAPI dependencies shared by the routers."""

from typing import Annotated

from fastapi import Depends, Request

from toolhub.server.auth import Principal, authenticate, require_admin, resolve_actor
from toolhub.store.db import Database
from toolhub.store.repositories import Actor


async def _actor(request: Request, principal: Annotated[Principal, Depends(authenticate)]) -> Actor:
    return await resolve_actor(request, principal)


async def _admin(principal: Annotated[Principal, Depends(authenticate)]) -> Principal:
    require_admin(principal)
    return principal


def _database(request: Request) -> Database:
    return request.app.state.db


CurrentActor = Annotated[Actor, Depends(_actor)]
CurrentPrincipal = Annotated[Principal, Depends(authenticate)]
AdminPrincipal = Annotated[Principal, Depends(_admin)]
Db = Annotated[Database, Depends(_database)]
