"""MCP endpoint profiles of one organization, and the tools each one serves."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import false, or_

from toolhub.errors import ConflictError, NotFoundError
from toolhub.store.ids import new_id
from toolhub.store.models import MCPProfile, Tool
from toolhub.store.repositories.base import OrgRepository
from toolhub.store.repositories.json_lists import tags_match


class MCPProfileRepository(OrgRepository[MCPProfile]):
    model = MCPProfile
    label = "MCP profile"

    def conflict_message(self, row: MCPProfile) -> str:
        return f"MCP profile {row.name!r} already exists"

    async def by_name(self, name: str) -> MCPProfile:
        row = await self.find(MCPProfile.name == name)
        if row is None:
            raise NotFoundError(f"MCP profile {name!r} not found")
        return row

    async def create(self, **fields: Any) -> MCPProfile:
        """Raises ConflictError when the name is taken (checked first; a concurrent create is caught at the flush)."""
        if await self.find(MCPProfile.name == fields["name"]) is not None:
            raise ConflictError(f"MCP profile {fields['name']!r} already exists")
        return await self.add(MCPProfile(id=new_id("mcp_profile"), **fields))

    async def update(self, row: MCPProfile, **fields: Any) -> MCPProfile:
        new_name = fields.get("name")
        if new_name is not None and new_name != row.name and await self.find(MCPProfile.name == new_name):
            raise ConflictError(f"MCP profile {new_name!r} already exists")
        for key, value in fields.items():
            setattr(row, key, value)
        return await self.touch(row)


def profile_condition(tags: Sequence[str], tool_ids: Sequence[str], dialect: str) -> Any:
    """The tools a profile serves: any of its tags, or one of its ids (a false condition when it has neither)."""
    conditions: list[Any] = []
    if tool_ids:
        conditions.append(Tool.id.in_(list(tool_ids)))
    if tags:
        conditions.append(tags_match(Tool.tags, tags, match_all=False, dialect=dialect))
    return or_(*conditions) if conditions else false()
