"""Organizations, users and API keys. Administrative: not scoped to an actor."""

import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from toolhub.errors import InvalidInputError, NotFoundError
from toolhub.store.ids import DEFAULT_ORG_ID, DEFAULT_USER_ID, new_id
from toolhub.store.models import ApiKey, Organization, User, utcnow
from toolhub.store.repositories.base import Actor, Order, page

API_KEY_PREFIX = "thk_"


def hash_api_key(key: str) -> str:
    """Keys are 256-bit random strings, so a plain SHA-256 is a safe one-way store."""
    return hashlib.sha256(key.encode()).hexdigest()


class IdentityRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def actor_for(self, user_id: str) -> Actor:
        user = await self.get_user(user_id)
        return Actor(user_id=user.id, organization_id=user.organization_id)

    async def get_user(self, user_id: str) -> User:
        user = await self.session.get(User, user_id)
        if user is None:
            raise NotFoundError(f"User with id {user_id} not found")
        return user

    async def list_users(
        self, after: str | None, limit: int | None, *, before: str | None = None, order: Order = "asc"
    ) -> list[User]:
        query = page(select(User), User, after, limit, before=before, order=order)
        return list((await self.session.execute(query)).scalars())

    async def create_user(self, name: str, organization_id: str | None) -> User:
        org_id = organization_id or DEFAULT_ORG_ID
        await self.get_organization(org_id)
        user = User(id=new_id("user"), name=name, organization_id=org_id)
        self.session.add(user)
        await self.session.flush()
        return user

    async def delete_user(self, user_id: str) -> User:
        if user_id == DEFAULT_USER_ID:
            raise InvalidInputError("The default user cannot be deleted")
        user = await self.get_user(user_id)
        await self.session.delete(user)
        await self.session.flush()
        return user

    async def get_organization(self, org_id: str) -> Organization:
        org = await self.session.get(Organization, org_id)
        if org is None:
            raise NotFoundError(f"Organization with id {org_id} not found")
        return org

    async def list_organizations(
        self, after: str | None, limit: int | None, *, before: str | None = None, order: Order = "asc"
    ) -> list[Organization]:
        query = page(select(Organization), Organization, after, limit, before=before, order=order)
        return list((await self.session.execute(query)).scalars())

    async def create_organization(self, name: str) -> Organization:
        org = Organization(id=new_id("org"), name=name)
        self.session.add(org)
        await self.session.flush()
        return org

    async def create_api_key(self, user_id: str, name: str | None) -> tuple[ApiKey, str]:
        """Returns the stored row and the clear key, which is never retrievable again."""
        await self.get_user(user_id)
        clear = API_KEY_PREFIX + secrets.token_urlsafe(32)
        row = ApiKey(
            id=new_id("apikey"), user_id=user_id, name=name, key_hash=hash_api_key(clear), key_prefix=clear[:10]
        )
        self.session.add(row)
        await self.session.flush()
        return row, clear

    async def list_api_keys(
        self,
        user_id: str,
        after: str | None = None,
        limit: int | None = None,
        *,
        before: str | None = None,
        order: Order = "asc",
    ) -> list[ApiKey]:
        await self.get_user(user_id)
        scope = [ApiKey.user_id == user_id]
        query = page(select(ApiKey).where(*scope), ApiKey, after, limit, before=before, order=order, scope=scope)
        return list((await self.session.execute(query)).scalars())

    async def revoke_api_key(self, user_id: str, key_id: str) -> ApiKey:
        row = await self.session.get(ApiKey, key_id)
        if row is None or row.user_id != user_id:
            raise NotFoundError(f"API key with id {key_id} not found for user {user_id}")
        if row.revoked_at is None:
            row.revoked_at = utcnow()
            await self.session.flush()
        return row

    async def user_for_api_key(self, presented: str) -> str | None:
        """The user id behind a live key, or None."""
        query = select(ApiKey.user_id, ApiKey.revoked_at).where(ApiKey.key_hash == hash_api_key(presented))
        row = (await self.session.execute(query)).first()
        if row is None or row.revoked_at is not None:
            return None
        return row.user_id
