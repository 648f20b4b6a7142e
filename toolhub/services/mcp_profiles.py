"""What the MCP endpoint serves: the tools a caller sees at `/mcp` (all of the organization's tools that run
without an agent) or at `/mcp/{profile}` (the subset a profile selects by tags or ids), and the profiles'
CRUD. Every profile write tells `ToolChanges`, since it changes what that profile's clients see."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from toolhub.errors import InvalidInputError, NotFoundError
from toolhub.server.listing import ListParams
from toolhub.server.schemas.mcp_profiles import MCPProfileCreate, MCPProfileUpdate
from toolhub.services.changes import ToolChanges
from toolhub.store.db import Database
from toolhub.store.models import MCPProfile as ProfileRow
from toolhub.store.models import Tool as ToolRow
from toolhub.store.repositories import Actor
from toolhub.store.repositories.mcp_profiles import MCPProfileRepository, profile_condition
from toolhub.store.repositories.tools import ToolRepository

SERVED_TOOL_TYPES = ("custom", "external_mcp", "external_composio")
"""Tool types the executor runs without an agent. Letta's base tools (`letta_*`) run inside an agent step (memory,
messaging, files; `letta_builtin` too, for now), so an MCP client never sees them."""


@dataclass(frozen=True, kw_only=True)
class ProfileScope:
    """The selection of one profile, as read for one request."""

    id: str
    name: str
    tags: tuple[str, ...]
    tool_ids: tuple[str, ...]


class MCPProfileService:
    def __init__(self, db: Database, changes: ToolChanges) -> None:
        self._db = db
        self._changes = changes

    async def page(self, actor: Actor, page: ListParams) -> list[ProfileRow]:
        async with self._db.session() as session:
            return await MCPProfileRepository(session, actor).list(**page.cursor())

    async def get(self, actor: Actor, profile_id: str) -> ProfileRow:
        async with self._db.session() as session:
            return await MCPProfileRepository(session, actor).get(profile_id)

    async def create(self, actor: Actor, body: MCPProfileCreate) -> ProfileRow:
        """Raises ConflictError (name taken) or InvalidInputError (an id that is not one of the caller's tools)."""
        async with self._db.session() as session:
            await _check_tool_ids(ToolRepository(session, actor), body.tool_ids)
            row = await MCPProfileRepository(session, actor).create(**body.model_dump())
        await self._changes.publish(actor.organization_id)
        return row

    async def modify(self, actor: Actor, profile_id: str, body: MCPProfileUpdate) -> ProfileRow:
        fields = body.model_dump(exclude_unset=True)
        for required in ("name", "tags", "tool_ids"):
            if required in fields and fields[required] is None:
                raise InvalidInputError(f"{required} cannot be null")
        async with self._db.session() as session:
            await _check_tool_ids(ToolRepository(session, actor), fields.get("tool_ids") or ())
            profiles = MCPProfileRepository(session, actor)
            row = await profiles.update(await profiles.get(profile_id), **fields)
        await self._changes.publish(actor.organization_id)
        return row

    async def delete(self, actor: Actor, profile_id: str) -> None:
        async with self._db.session() as session:
            await MCPProfileRepository(session, actor).delete(profile_id)
        await self._changes.publish(actor.organization_id)

    async def scope(self, actor: Actor, name: str) -> ProfileScope:
        """The profile served at `/mcp/{name}`. Raises NotFoundError."""
        async with self._db.session() as session:
            return _scope(await MCPProfileRepository(session, actor).by_name(name))

    async def scope_by_id(self, actor: Actor, profile_id: str) -> ProfileScope | None:
        """The profile as it is now (it may have been renamed since a client connected), or None once deleted."""
        try:
            return _scope(await self.get(actor, profile_id))
        except NotFoundError:
            return None

    async def served_tools(
        self, actor: Actor, profile: ProfileScope | None, *, after: str | None = None, limit: int | None = None
    ) -> list[ToolRow]:
        """The tools served to `actor` (through `profile`, when given), oldest first: a stable order for MCP's
        `tools/list`, paged by keyset after the tool id `after`."""
        async with self._db.session() as session:
            tools = ToolRepository(session, actor)
            return await tools.list(*_served(profile, session.bind.dialect.name), after=after, limit=limit)

    async def served_tool(self, actor: Actor, profile: ProfileScope | None, name: str) -> ToolRow | None:
        """The tool called `name`, when it is served to `actor` (through `profile`)."""
        async with self._db.session() as session:
            tools = ToolRepository(session, actor)
            return await tools.find(ToolRow.name == name, *_served(profile, session.bind.dialect.name))


def _served(profile: ProfileScope | None, dialect: str) -> list[Any]:
    conditions: list[Any] = [ToolRow.tool_type.in_(SERVED_TOOL_TYPES)]
    if profile is not None:
        conditions.append(profile_condition(profile.tags, profile.tool_ids, dialect))
    return conditions


def _scope(row: ProfileRow) -> ProfileScope:
    return ProfileScope(id=row.id, name=row.name, tags=tuple(row.tags or ()), tool_ids=tuple(row.tool_ids or ()))


async def _check_tool_ids(tools: ToolRepository, tool_ids: Sequence[str]) -> None:
    if not tool_ids:
        return
    known = {row.id for row in await tools.list(ToolRow.id.in_(list(tool_ids)))}
    unknown = [tool_id for tool_id in tool_ids if tool_id not in known]
    if unknown:
        raise InvalidInputError(f"No such tools: {', '.join(unknown)}")
