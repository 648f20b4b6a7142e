"""Filters on JSON list columns (`tags`) that run in the database on SQLite and PostgreSQL alike, so they combine
with keyset paging instead of being applied to a page after the fact."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import JSON, and_, case, cast, exists, func, literal, or_, select


def contains(column: Any, value: str, dialect: str) -> Any:
    """`value` is one of the elements of the JSON list in `column` (never true for NULL or a non-list)."""
    if dialect == "postgresql":
        # json_array_elements_text refuses a scalar (a JSON null), so anything but a list becomes [].
        as_list = case((func.json_typeof(column) == "array", column), else_=cast(literal("[]"), JSON))
        elements = func.json_array_elements_text(as_list).table_valued("value")
    else:
        elements = func.json_each(column).table_valued("value")
    return exists(select(1).select_from(elements).where(elements.c.value == value))


def tags_match(column: Any, tags: Sequence[str], *, match_all: bool, dialect: str) -> Any:
    """Rows whose list holds all of `tags` (`match_all`) or any of them."""
    conditions = [contains(column, tag, dialect) for tag in tags]
    return and_(*conditions) if match_all else or_(*conditions)
