"""Tool rows for one organization."""

from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from toolhub.errors import ConflictError
from toolhub.store.ids import new_id
from toolhub.store.models import Tool
from toolhub.store.repositories.base import OrgRepository

DUPLICATE_NAME = "Tool with this name already exists."


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

    async def create(self, **fields: Any) -> Tool:
        if await self.get_by_name(fields["name"]) is not None:
            raise ConflictError(DUPLICATE_NAME)
        try:
            return await self.add(Tool(id=new_id("tool"), **fields))
        except IntegrityError:  # a concurrent create took the name between the check and the insert
            raise ConflictError(DUPLICATE_NAME) from None

    async def update(self, row: Tool, **fields: Any) -> Tool:
        new_name = fields.get("name")
        if new_name is not None and new_name != row.name and await self.get_by_name(new_name) is not None:
            raise ConflictError(DUPLICATE_NAME)
        for key, value in fields.items():
            setattr(row, key, value)
        try:
            return await self.touch(row)
        except IntegrityError:
            raise ConflictError(DUPLICATE_NAME) from None

    async def upsert(self, **fields: Any) -> Tool:
        """Update the tool with this name in place (keeping its id), or create it."""
        existing = await self.get_by_name(fields["name"])
        if existing is None:
            return await self.create(**fields)
        return await self.update(existing, **fields)
