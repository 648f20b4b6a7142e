"""The query side of every list route: cursors, limit and order in one dependency, and no unknown parameters.

A list route declares `page: ListParams = list_params(limit=..., order=...)` with Letta's defaults for that
route, passes `page.cursor()` to its repository (which pages with `store.repositories.base.page`), and declares
its filters as ordinary query parameters. Any query parameter the route does not declare is a 400 that names it
and the known ones: a misspelt filter must not silently widen the answer (or make an SDK page forever).
"""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Query, Request
from fastapi.dependencies.models import Dependant

from toolhub.errors import InvalidInputError
from toolhub.store.repositories.base import Order

MAX_LIMIT = 10_000
"""The largest page any list route serves."""


@dataclass(frozen=True)
class ListParams:
    """One page of a list: keyset cursors (ids) on `(created_at, id)` in `order`, at most `limit` items."""

    after: str | None
    """Only items strictly after this id in `order`; an id that does not exist is ignored (first page)."""
    before: str | None
    """Only items strictly before this id in `order` (the `limit` closest to it); unknown ids are ignored."""
    limit: int
    order: Order

    def cursor(self) -> dict[str, Any]:
        """Keyword arguments for a repository's paged list."""
        return {"after": self.after, "before": self.before, "limit": self.limit, "order": self.order}


def list_params(*, limit: int, order: Order) -> Any:
    """A dependency giving the route's `ListParams`, with this route's default `limit` and `order`.

    It also rejects query parameters the route does not declare (see `reject_unknown_query`).
    """
    default_limit, default_order = limit, order

    async def paging(
        request: Request,
        after: Annotated[
            str | None, Query(description="Cursor (an id): return the items after it in the sort order.")
        ] = None,
        before: Annotated[
            str | None, Query(description="Cursor (an id): return the items before it in the sort order.")
        ] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Maximum number of items to return.")] = (
            default_limit
        ),
        order: Annotated[
            Order, Query(description="Sort by creation time: 'asc' oldest first, 'desc' newest first.")
        ] = default_order,
    ) -> ListParams:
        reject_unknown_query(request)
        return ListParams(after=after, before=before, limit=limit, order=order)

    return Depends(paging)


def reject_unknown_query(request: Request) -> None:
    """400 when the query string holds a parameter the matched route does not declare."""
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return
    known = set(_query_names(dependant))
    unknown = sorted({key for key in request.query_params if key not in known})
    if unknown:
        listed = ", ".join(repr(key) for key in unknown)
        raise InvalidInputError(
            f"Unknown query parameter(s) {listed}; this route accepts: {', '.join(sorted(known)) or 'none'}"
        )


KnownQueryOnly = Depends(reject_unknown_query)
"""For list routes without paging: `@router.get(..., dependencies=[KnownQueryOnly])`."""


def _query_names(dependant: Dependant) -> Iterable[str]:
    for field in dependant.query_params:
        yield field.alias
    for sub in dependant.dependencies:
        yield from _query_names(sub)


def many(values: list[str] | None) -> tuple[str, ...]:
    """A repeatable query parameter that also takes comma-separated values (`?a=x&a=y` or `?a=x,y`), as Letta's."""
    return tuple(part.strip() for value in values or () for part in value.split(",") if part.strip())
