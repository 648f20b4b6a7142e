"""Tool rows for one organization."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from toolhub.errors import ConflictError
from toolhub.store.ids import new_id
from toolhub.store.models import Tool
from toolhub.store.repositories.base import OrgRepository

DUPLICATE_NAME = "Tool with this name already exists."


@dataclass(frozen=True)
class ToolFilters:
    """Letta 1.x's tool-list filters; every one given narrows the list (they AND together)."""

    name: str | None = None
    """Exact name."""
    names: Sequence[str] = ()
    """Any of these names."""
    tool_ids: Sequence[str] = ()
    """Any of these ids."""
    search: str | None = None
    """Case-insensitive substring of the name (`%` and `_` are literal)."""
    tool_types: Sequence[str] = ()
    """Any of these tool types."""
    exclude_tool_types: Sequence[str] = ()
    """None of these tool types."""
    only_letta_tools: bool = False
    """Only tools whose tool_type starts with `letta_`."""

    def conditions(self) -> list[Any]:
        conditions: list[Any] = []
        if self.name is not None:
            conditions.append(Tool.name == self.name)
        if self.names:
            conditions.append(Tool.name.in_(list(self.names)))
        if self.tool_ids:
            conditions.append(Tool.id.in_(list(self.tool_ids)))
        if self.search:
            conditions.append(func.lower(Tool.name).contains(self.search.lower(), autoescape=True))
        if self.tool_types:
            conditions.append(Tool.tool_type.in_(list(self.tool_types)))
        if self.exclude_tool_types:
            conditions.append(Tool.tool_type.not_in(list(self.exclude_tool_types)))
        if self.only_letta_tools:
            conditions.append(Tool.tool_type.startswith("letta_", autoescape=True))
        return conditions


class ToolRepository(OrgRepository[Tool]):
    model = Tool
    label = "Tool"

    async def get_by_name(self, name: str) -> Tool | None:
        return await self.find(Tool.name == name)

    async def names(self, names: Iterable[str]) -> set[str]:
        query = select(Tool.name).where(Tool.organization_id == self.actor.organization_id, Tool.name.in_(list(names)))
        return set((await self.session.execute(query)).scalars())

    async def count(self, exclude_names: Iterable[str] = ()) -> int:
        query = select(func.count()).select_from(Tool).where(Tool.organization_id == self.actor.organization_id)
        excluded = list(exclude_names)
        if excluded:
            query = query.where(Tool.name.not_in(excluded))
        return (await self.session.execute(query)).scalar_one()

    def conflict_message(self, row: Tool) -> str:
        return DUPLICATE_NAME

    async def create(self, **fields: Any) -> Tool:
        """Raises ConflictError when the name is taken: the unique key on (organization, name) refuses the insert
        (see `OrgRepository.add`), so no query has to look first."""
        return await self.add(Tool(id=new_id("tool"), **fields))

    async def update(self, row: Tool, **fields: Any) -> Tool:
        new_name = fields.get("name")
        if new_name is not None and new_name != row.name and await self.get_by_name(new_name) is not None:
            raise ConflictError(DUPLICATE_NAME)
        for key, value in fields.items():
            setattr(row, key, value)
        return await self.touch(row)

    async def upsert(self, **fields: Any) -> Tool:
        """Update the tool with this name in place (keeping its id), or create it."""
        existing = await self.get_by_name(fields["name"])
        if existing is None:
            return await self.create(**fields)
        return await self.update(existing, **fields)
