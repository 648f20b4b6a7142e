"""Tenant scoping by construction: an `OrgRepository` cannot be built without an acting user, and every
query it makes starts from `_select()`, which is already filtered to that user's organization."""

from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from toolhub.errors import NotFoundError
from toolhub.store.models import Base, OrgOwned, utcnow


@dataclass(frozen=True)
class Actor:
    """The user a request acts as, and the organization that scopes everything it touches."""

    user_id: str
    organization_id: str


ModelT = TypeVar("ModelT", bound=Base)


def page(query: Select, model: Any, after: str | None, limit: int | None) -> Select:
    """Cursor pagination by id, in id order (ids are random, so order is stable but not chronological)."""
    query = query.order_by(model.created_at, model.id)
    if after is not None:
        cursor = select(model.created_at).where(model.id == after).scalar_subquery()
        query = query.where((model.created_at > cursor) | ((model.created_at == cursor) & (model.id > after)))
    if limit is not None:
        query = query.limit(limit)
    return query


class OrgRepository(Generic[ModelT]):
    """Reads and writes one org-owned table on behalf of `actor`."""

    model: ClassVar[type[OrgOwned]]
    label: ClassVar[str]

    def __init__(self, session: AsyncSession, actor: Actor) -> None:
        self.session = session
        self.actor = actor

    def _select(self) -> Select:
        return select(self.model).where(self.model.organization_id == self.actor.organization_id)

    async def get(self, object_id: str) -> ModelT:
        row = (await self.session.execute(self._select().where(self.model.id == object_id))).scalar_one_or_none()
        if row is None:
            raise NotFoundError(f"{self.label} with id {object_id} not found")
        return row

    async def find(self, *conditions: Any) -> ModelT | None:
        return (await self.session.execute(self._select().where(*conditions))).scalars().first()

    async def list(self, *conditions: Any, after: str | None = None, limit: int | None = None) -> list[ModelT]:
        query = page(self._select().where(*conditions), self.model, after, limit)
        return list((await self.session.execute(query)).scalars())

    async def add(self, row: ModelT) -> ModelT:
        row.organization_id = self.actor.organization_id
        row.created_by_id = self.actor.user_id
        row.last_updated_by_id = self.actor.user_id
        self.session.add(row)
        await self.session.flush()
        return row

    async def touch(self, row: ModelT) -> ModelT:
        """Record that the actor changed `row`, and write the change now so conflicts surface here."""
        row.last_updated_by_id = self.actor.user_id
        row.updated_at = utcnow()
        await self.session.flush()
        return row

    async def delete(self, object_id: str) -> None:
        await self.session.delete(await self.get(object_id))
        await self.session.flush()
