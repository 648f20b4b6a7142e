"""Tenant scoping by construction: an `OrgRepository` cannot be built without an acting user, and every
query it makes starts from `_select()`, which is already filtered to that user's organization."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, Literal, TypeVar

from sqlalchemy import ColumnElement, Select, and_, case, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from toolhub.errors import ConflictError, NotFoundError
from toolhub.store.models import Base, OrgOwned, utcnow


@dataclass(frozen=True)
class Actor:
    """The user a request acts as, and the organization that scopes everything it touches."""

    user_id: str
    organization_id: str


ModelT = TypeVar("ModelT", bound=Base)


Order = Literal["asc", "desc"]


def page(
    query: Select,
    model: Any,
    after: str | None = None,
    limit: int | None = None,
    *,
    before: str | None = None,
    order: Order = "asc",
    scope: Sequence[ColumnElement[bool]] = (),
) -> Select:
    """Keyset pagination on `(created_at, id)` in `order`, the one way every list pages.

    `after=X` keeps the rows strictly after X in that order, `before=X` those strictly before it; with only
    `before`, the page is the `limit` rows closest to X (still listed in `order`), so a client can page backwards
    from the first row of the page it holds. A cursor id that is not a row of `model` (within `scope`, the
    conditions that make a row visible to the caller) is ignored, as Letta does: the first page comes back.
    Filters in `query` always apply; the cursors only narrow them.
    """
    if after is not None:
        query = query.where(_beyond(model, after, descending=order == "desc", scope=scope))
    if before is not None:
        query = query.where(_beyond(model, before, descending=order != "desc", scope=scope))
    if before is not None and after is None and limit is not None:
        # The rows closest to `before`: take them in the reverse order, then list them in the asked one. When
        # `before` does not exist it is ignored: the leading keys (NULL for every row when it does) keep the
        # asked order, so the first page comes back.
        missing = _created_at(model, before, scope).is_(None)
        leading = [_direction(case((missing, column)), order == "desc") for column in (model.created_at, model.id)]
        reverse = [_direction(column, order != "desc") for column in (model.created_at, model.id)]
        nearest = query.order_by(*leading, *reverse).limit(limit).subquery()
        row = aliased(model, nearest)
        return select(row).order_by(*(_direction(column, order == "desc") for column in (row.created_at, row.id)))
    query = query.order_by(*(_direction(column, order == "desc") for column in (model.created_at, model.id)))
    return query if limit is None else query.limit(limit)


def _direction(column: Any, descending: bool) -> Any:
    return column.desc() if descending else column.asc()


def _created_at(model: Any, cursor_id: str, scope: Sequence[ColumnElement[bool]]) -> Any:
    """The cursor row's `created_at` (NULL when there is no such row in `scope`)."""
    return select(model.created_at).where(model.id == cursor_id, *scope).correlate(None).scalar_subquery()


def _beyond(model: Any, cursor_id: str, *, descending: bool, scope: Sequence[ColumnElement[bool]]) -> Any:
    """Rows past the cursor row in the given direction, or every row when the cursor does not exist."""
    cursor_at = _created_at(model, cursor_id, scope)
    if descending:
        past = or_(model.created_at < cursor_at, and_(model.created_at == cursor_at, model.id < cursor_id))
    else:
        past = or_(model.created_at > cursor_at, and_(model.created_at == cursor_at, model.id > cursor_id))
    return or_(cursor_at.is_(None), past)


def is_unique_violation(exc: IntegrityError) -> bool:
    """A unique-constraint violation on PostgreSQL (SQLSTATE 23505) or SQLite, rather than a foreign key or NOT NULL."""
    if getattr(exc.orig, "sqlstate", None) == "23505":
        return True
    return "UNIQUE constraint failed" in str(exc.orig)


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

    async def list(
        self,
        *conditions: Any,
        after: str | None = None,
        limit: int | None = None,
        before: str | None = None,
        order: Order = "asc",
    ) -> list[ModelT]:
        """One page of the organization's rows matching all `conditions` (see `page`)."""
        query = page(
            self._select().where(*conditions),
            self.model,
            after,
            limit,
            before=before,
            order=order,
            scope=[self.model.organization_id == self.actor.organization_id],
        )
        return list((await self.session.execute(query)).scalars())

    def stage(self, row: ModelT) -> ModelT:
        """Add `row` for the actor's organization; it is written with the session's next flush."""
        row.organization_id = self.actor.organization_id
        row.created_by_id = self.actor.user_id
        row.last_updated_by_id = self.actor.user_id
        self.session.add(row)
        return row

    async def add(self, row: ModelT) -> ModelT:
        """Insert `row` for the actor's organization. Raises ConflictError when it takes a unique key."""
        self.stage(row)
        await self._flush(row)
        return row

    async def touch(self, row: ModelT) -> ModelT:
        """Record that the actor changed `row`, and write the change now so conflicts surface here (as
        ConflictError)."""
        row.last_updated_by_id = self.actor.user_id
        row.updated_at = utcnow()
        await self._flush(row)
        return row

    def conflict_message(self, row: ModelT) -> str:
        """What a unique violation on writing `row` means; each repository names the key that clashed."""
        return f"{self.label} {row.id} conflicts with an existing one"

    async def _flush(self, row: ModelT) -> None:
        """Flush; a unique violation (e.g. a concurrent request took the name between check and write) becomes a
        ConflictError naming what clashed, so no route has to know the database's exceptions."""
        try:
            await self.session.flush()
        except IntegrityError as exc:
            if not is_unique_violation(exc):
                raise
            raise ConflictError(self.conflict_message(row)) from None

    async def delete(self, object_id: str) -> None:
        await self.session.delete(await self.get(object_id))
        await self.session.flush()
