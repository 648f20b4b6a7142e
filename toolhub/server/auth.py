"""Who is calling: the server password (admin), a user API key (that user only), or nobody (auth off)."""

import hmac
from dataclasses import dataclass

from fastapi import Request

from toolhub.cache import TTLCache
from toolhub.errors import ForbiddenError, UnauthorizedError
from toolhub.store.ids import DEFAULT_USER_ID
from toolhub.store.repositories import Actor, IdentityRepository


@dataclass(frozen=True)
class Principal:
    """`api_key_user_id` is set when the caller used a user's API key; such a caller is never admin."""

    is_admin: bool
    api_key_user_id: str | None = None


def _presented_secret(request: Request) -> str | None:
    authorization = request.headers.get("authorization", "")
    scheme, _, credential = authorization.partition(" ")
    if scheme.lower() == "bearer" and credential.strip():
        return credential.strip()
    bare = request.headers.get("x-bare-password", "")
    scheme, _, credential = bare.partition(" ")
    if scheme.lower() == "password" and credential.strip():
        return credential.strip()
    return None


async def authenticate(request: Request) -> Principal:
    """FastAPI dependency on every router but health."""
    password = request.app.state.settings.server_password
    if password is None:
        return Principal(is_admin=True)
    presented = _presented_secret(request)
    if presented is None:
        raise UnauthorizedError("Authentication required: send 'Authorization: Bearer <password or API key>'")
    if hmac.compare_digest(presented.encode(), password.get_secret_value().encode()):
        return Principal(is_admin=True)
    async with request.app.state.db.session() as session:
        user_id = await IdentityRepository(session).user_for_api_key(presented)
    if user_id is None:
        raise UnauthorizedError("Invalid password or API key")
    return Principal(is_admin=False, api_key_user_id=user_id)


async def resolve_actor(request: Request, principal: Principal) -> Actor:
    """The acting user: the API key's owner, else the `user_id` header, else the default user."""
    requested = request.headers.get("user_id")
    if principal.api_key_user_id is not None:
        if requested and requested != principal.api_key_user_id:
            raise ForbiddenError("An API key acts only as its own user; the user_id header cannot change that")
        user_id = principal.api_key_user_id
    else:
        user_id = requested or DEFAULT_USER_ID
    cache: TTLCache[str, Actor] = request.app.state.actors  # a user's organization never changes
    actor = cache.get(user_id)
    if actor is None:
        async with request.app.state.db.session() as session:
            actor = await IdentityRepository(session).actor_for(user_id)
        cache.put(user_id, actor)
    return actor


def require_admin(principal: Principal) -> None:
    if not principal.is_admin:
        raise ForbiddenError("This route needs the server password, not a user API key")
