"""Tool writes, lists and reads by id: schema derivation (see `toolhub.tools.registry`) before any transaction
opens, then the repository inside one. Also turns a stored tool, or a `/v1/tools/run` body, into the `ToolSpec` the
executor runs."""

from __future__ import annotations  # methods named `list` must not shadow the builtin in annotations

from collections.abc import Mapping
from typing import Any

from toolhub.builtin_tools.base import base_tool_names
from toolhub.services.changes import ToolChanges
from toolhub.store.db import Database
from toolhub.store.models import Tool as ToolRow
from toolhub.store.repositories import Actor
from toolhub.store.repositories.base import Order
from toolhub.store.repositories.tools import ToolFilters, ToolRepository
from toolhub.tools import registry
from toolhub.tools.model import ToolCreate, ToolRunFromSource, ToolUpdate
from toolhub.tools.spec import ToolSpec


class ToolService:
    def __init__(self, db: Database, changes: ToolChanges) -> None:
        self._db = db
        self._changes = changes
        """Told after each committed create, update or delete (the MCP endpoint's `list_changed`)."""

    async def get(self, actor: Actor, tool_id: str) -> ToolRow:
        async with self._db.session() as session:
            return await ToolRepository(session, actor).get(tool_id)

    async def spec(self, actor: Actor, tool_id: str) -> ToolSpec:
        """What the executor needs of a stored tool."""
        return ToolSpec.from_row(await self.get(actor, tool_id))

    async def spec_from_source(self, actor: Actor, body: ToolRunFromSource) -> ToolSpec:
        """A tool run from source without being stored; its schema is derived (or checked) as on create.

        Raises:
            InvalidInputError: the source or schemas cannot become a function schema, or the source type is not
                Python.
            TooManyRequestsError: the source must be loaded and the server is busy doing that for others.
        """
        derived = await registry.derive_schema_fields(
            body.source_code,
            caller=actor.user_id,
            source_type=body.source_type,
            json_schema=body.json_schema,
            args_json_schema=body.args_json_schema,
        )
        return ToolSpec.from_source(
            derived.name,
            body.source_code,
            json_schema=derived.json_schema,
            args_json_schema=body.args_json_schema,
            pip_requirements=body.pip_requirements,
        )

    async def list(
        self,
        actor: Actor,
        filters: ToolFilters,
        *,
        after: str | None = None,
        before: str | None = None,
        limit: int | None = None,
        order: Order = "asc",
    ) -> list[ToolRow]:
        """One page of the organization's tools matching every filter. A first page (no cursor) makes sure the
        base tools exist, as Letta's list does."""
        async with self._db.session() as session:
            tools = ToolRepository(session, actor)
            if after is None and before is None:
                await registry.ensure_base_tools(tools)
            return await tools.list(*filters.conditions(), after=after, before=before, limit=limit, order=order)

    async def count(self, actor: Actor, *, include_base_tools: bool) -> int:
        async with self._db.session() as session:
            return await ToolRepository(session, actor).count(() if include_base_tools else base_tool_names())

    async def add_base_tools(self, actor: Actor) -> list[ToolRow]:
        async with self._db.session() as session:
            return await registry.upsert_base_tools(ToolRepository(session, actor))

    async def generate_schema(self, actor: Actor, code: str) -> Mapping[str, Any]:
        return (await registry.derive_schema_fields(code, caller=actor.user_id)).json_schema

    async def create(self, actor: Actor, body: ToolCreate) -> ToolRow:
        columns = await registry.columns_for_create(body, caller=actor.user_id)
        async with self._db.session() as session:
            row = await ToolRepository(session, actor).create(**columns)
        await self._changes.publish(actor.organization_id)
        return row

    async def upsert(self, actor: Actor, body: ToolCreate) -> ToolRow:
        columns = await registry.columns_for_create(body, caller=actor.user_id)
        async with self._db.session() as session:
            row = await ToolRepository(session, actor).upsert(**columns)
        await self._changes.publish(actor.organization_id)
        return row

    async def modify(self, actor: Actor, tool_id: str, body: ToolUpdate) -> ToolRow:
        """Derivation runs between two transactions, so a slow schema never holds a connection."""
        current = await self.get(actor, tool_id)
        columns = await registry.columns_for_update(current, body, caller=actor.user_id)
        async with self._db.session() as session:
            tools = ToolRepository(session, actor)
            row = await tools.update(await tools.get(tool_id), **columns)
        await self._changes.publish(actor.organization_id)
        return row

    async def delete(self, actor: Actor, tool_id: str) -> None:
        async with self._db.session() as session:
            await ToolRepository(session, actor).delete(tool_id)
        await self._changes.publish(actor.organization_id)
