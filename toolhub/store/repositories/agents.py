"""Agent rows for one organization, with what hangs off them: attached tools and blocks (in attachment order),
secrets (rows as stored: values encrypted; `AgentService` holds the key) and the ids of the messages in their
context.

The step loop reads an agent through `get`, `tools` and `blocks`; the API's lists load the same relationships for
many agents at once (`tools_of`, `blocks_of`, `secrets_of`, `message_ids_of`).
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update

from toolhub.errors import NotFoundError
from toolhub.store.ids import new_id
from toolhub.store.models import Agent, AgentBlock, AgentSecret, AgentTool, Block, Message, OrgOwned, Tool, utcnow
from toolhub.store.repositories.base import Order, OrgRepository, page
from toolhub.store.repositories.json_lists import tags_match


@dataclass(frozen=True)
class AgentFilters:
    """Letta's agent-list filters; every one given narrows the list (they AND together)."""

    name: str | None = None
    """Exact name."""
    tags: Sequence[str] = ()
    match_all_tags: bool = False
    """All of `tags` rather than any of them."""
    query_text: str | None = None
    """Case-insensitive substring of the name (`%` and `_` are literal)."""
    last_stop_reason: str | None = None
    created_by_id: str | None = None

    def conditions(self, dialect: str) -> list[Any]:
        conditions: list[Any] = []
        if self.name is not None:
            conditions.append(Agent.name == self.name)
        if self.tags:
            conditions.append(tags_match(Agent.tags, self.tags, match_all=self.match_all_tags, dialect=dialect))
        if self.query_text:
            conditions.append(func.lower(Agent.name).contains(self.query_text.lower(), autoescape=True))
        if self.last_stop_reason is not None:
            conditions.append(Agent.last_stop_reason == self.last_stop_reason)
        if self.created_by_id is not None:
            conditions.append(Agent.created_by_id == self.created_by_id)
        return conditions


class AgentRepository(OrgRepository[Agent]):
    model = Agent
    label = "Agent"

    @property
    def dialect(self) -> str:
        return self.session.bind.dialect.name

    async def get(self, object_id: str) -> Agent:
        """Raises NotFoundError with Letta's text ("Agent with ID … not found")."""
        row = (await self.session.execute(self._select().where(Agent.id == object_id))).scalar_one_or_none()
        if row is None:
            raise NotFoundError(f"Agent with ID {object_id} not found")
        return row

    async def create(self, **fields: Any) -> Agent:
        return await self.add(Agent(id=new_id("agent"), **fields))

    async def update(self, row: Agent, **fields: Any) -> Agent:
        for key, value in fields.items():
            setattr(row, key, value)
        return await self.touch(row)

    async def count(self, filters: AgentFilters) -> int:
        query = select(func.count()).select_from(Agent).where(
            Agent.organization_id == self.actor.organization_id, *filters.conditions(self.dialect)
        )
        return (await self.session.execute(query)).scalar_one()

    # What the step loop reads.

    async def tools(self, agent_id: str) -> list[Tool]:
        """The agent's tools in attachment order."""
        return (await self.tools_of([agent_id]))[agent_id]

    async def blocks(self, agent_id: str) -> list[Block]:
        """The agent's memory blocks in attachment order."""
        return (await self.blocks_of([agent_id]))[agent_id]

    # The same for many agents at once.

    async def tools_of(self, agent_ids: Iterable[str]) -> dict[str, list[Tool]]:
        ids = list(agent_ids)
        query = (
            select(AgentTool.agent_id, Tool)
            .join(Tool, Tool.id == AgentTool.tool_id)
            .where(AgentTool.agent_id.in_(ids), Tool.organization_id == self.actor.organization_id)
            .order_by(AgentTool.created_at, AgentTool.tool_id)
        )
        return _grouped(ids, await self.session.execute(query))

    async def blocks_of(self, agent_ids: Iterable[str]) -> dict[str, list[Block]]:
        ids = list(agent_ids)
        query = (
            select(AgentBlock.agent_id, Block)
            .join(Block, Block.id == AgentBlock.block_id)
            .where(AgentBlock.agent_id.in_(ids), Block.organization_id == self.actor.organization_id)
            .order_by(AgentBlock.created_at, AgentBlock.block_id)
        )
        return _grouped(ids, await self.session.execute(query))

    async def secrets_of(self, agent_ids: Iterable[str]) -> dict[str, list[AgentSecret]]:
        """Each agent's secret rows, oldest first; `value` is the ciphertext."""
        ids = list(agent_ids)
        query = (
            select(AgentSecret.agent_id, AgentSecret)
            .where(AgentSecret.agent_id.in_(ids), AgentSecret.organization_id == self.actor.organization_id)
            .order_by(AgentSecret.created_at, AgentSecret.id)
        )
        return _grouped(ids, await self.session.execute(query))

    async def message_ids_of(self, agent_ids: Iterable[str]) -> dict[str, list[str]]:
        """The ids of each agent's in-context messages, oldest first."""
        ids = list(agent_ids)
        query = (
            select(Message.agent_id, Message.id)
            .where(
                Message.agent_id.in_(ids),
                Message.organization_id == self.actor.organization_id,
                Message.in_context.is_(True),
            )
            .order_by(Message.created_at, Message.id)
        )
        return _grouped(ids, await self.session.execute(query))

    # Pages of an agent's tools and blocks, as the list routes serve them.

    async def list_tools(
        self, agent_id: str, *, after: str | None, before: str | None, limit: int | None, order: Order
    ) -> list[Tool]:
        scope = [Tool.organization_id == self.actor.organization_id]
        query = select(Tool).join(AgentTool, AgentTool.tool_id == Tool.id)
        query = query.where(AgentTool.agent_id == agent_id, *scope)
        paged = page(query, Tool, after, limit, before=before, order=order, scope=scope)
        return list((await self.session.execute(paged)).scalars())

    async def list_blocks(
        self, agent_id: str, *, after: str | None, before: str | None, limit: int | None, order: Order
    ) -> list[Block]:
        scope = [Block.organization_id == self.actor.organization_id]
        query = select(Block).join(AgentBlock, AgentBlock.block_id == Block.id)
        query = query.where(AgentBlock.agent_id == agent_id, *scope)
        paged = page(query, Block, after, limit, before=before, order=order, scope=scope)
        return list((await self.session.execute(paged)).scalars())

    async def block_by_label(self, agent_id: str, label: str) -> Block:
        for block in await self.blocks(agent_id):
            if block.label == label:
                return block
        raise NotFoundError(f"Block with label {label!r} not found for agent {agent_id}")

    # Writes. Attachments keep their order: a batch gets strictly increasing times.

    async def attach_tools(self, agent_id: str, tool_ids: Sequence[str]) -> None:
        """Attach the tools not attached yet, after the others, in the given order."""
        attached = {tool.id for tool in await self.tools(agent_id)}
        fresh = list(dict.fromkeys(t for t in tool_ids if t not in attached))
        self.session.add_all(AgentTool(agent_id=agent_id, tool_id=t, created_at=at) for t, at in _times(fresh))
        await self.session.flush()

    async def approval_choices(self, agent_id: str) -> dict[str, bool]:
        """The agent's own approval choices, by tool id (tools it made no choice for are left out)."""
        query = select(AgentTool.tool_id, AgentTool.requires_approval).where(
            AgentTool.agent_id == agent_id, AgentTool.requires_approval.is_not(None)
        )
        return {tool_id: bool(choice) for tool_id, choice in await self.session.execute(query)}

    async def choose_approval(self, agent_id: str, tool_id: str, requires_approval: bool) -> None:
        """Whether calls of the attached tool wait for approval, for this agent (over the tool's default)."""
        await self.session.execute(
            update(AgentTool)
            .where(AgentTool.agent_id == agent_id, AgentTool.tool_id == tool_id)
            .values(requires_approval=requires_approval)
        )

    async def detach_tools(self, agent_id: str, tool_ids: Iterable[str]) -> None:
        ids = list(tool_ids)
        if ids:
            await self.session.execute(
                delete(AgentTool).where(AgentTool.agent_id == agent_id, AgentTool.tool_id.in_(ids))
            )

    async def attach_blocks(self, agent_id: str, block_ids: Sequence[str]) -> None:
        """Attach the blocks not attached yet, after the others, in the given order."""
        attached = {block.id for block in await self.blocks(agent_id)}
        fresh = list(dict.fromkeys(b for b in block_ids if b not in attached))
        self.session.add_all(AgentBlock(agent_id=agent_id, block_id=b, created_at=at) for b, at in _times(fresh))
        await self.session.flush()

    async def detach_blocks(self, agent_id: str, block_ids: Iterable[str]) -> None:
        ids = list(block_ids)
        if ids:
            await self.session.execute(
                delete(AgentBlock).where(AgentBlock.agent_id == agent_id, AgentBlock.block_id.in_(ids))
            )

    async def replace_secrets(self, agent_id: str, encrypted: Mapping[str, str]) -> None:
        """Make `encrypted` (values already encrypted) the agent's whole set of secrets; a key that stays keeps its
        id."""
        rows = (
            await self.session.execute(select(AgentSecret).where(AgentSecret.agent_id == agent_id))
        ).scalars()
        existing = {row.key: row for row in rows}
        for key, row in existing.items():
            if key not in encrypted:
                await self.session.delete(row)
        for key, value in encrypted.items():
            row = existing.get(key)
            if row is None:
                row = AgentSecret(id=new_id("agent-env"), agent_id=agent_id, key=key)
                self._own(row)
            else:
                row.last_updated_by_id = self.actor.user_id
                row.updated_at = utcnow()
            row.value = value
        await self.session.flush()

    async def delete(self, object_id: str) -> None:
        """Delete the agent with its messages, runs, steps, secrets and attachments (the database cascades), and
        the blocks it made unless another agent has them attached; those become standalone blocks."""
        await self.get(object_id)
        shared = select(AgentBlock.block_id).where(AgentBlock.agent_id != object_id)
        owned = [Block.owner_agent_id == object_id, Block.organization_id == self.actor.organization_id]
        await self.session.execute(delete(Block).where(*owned, Block.id.not_in(shared)))
        await self.session.execute(update(Block).where(*owned).values(owner_agent_id=None))
        await self.session.execute(delete(Agent).where(Agent.id == object_id))

    def _own(self, row: OrgOwned) -> None:
        row.organization_id = self.actor.organization_id
        row.created_by_id = self.actor.user_id
        row.last_updated_by_id = self.actor.user_id
        self.session.add(row)


def _grouped(agent_ids: Sequence[str], pairs: Iterable[Any]) -> dict[str, list[Any]]:
    """`(agent_id, item)` rows as lists per agent, every agent present."""
    grouped: dict[str, list[Any]] = {agent_id: [] for agent_id in agent_ids}
    for agent_id, item in pairs:
        grouped[agent_id].append(item)
    return grouped


def _times(items: Sequence[str]) -> list[tuple[str, datetime]]:
    """Each item with its attachment time: strictly increasing from now, so a batch keeps its order."""
    start = utcnow()
    return [(item, start + timedelta(microseconds=n)) for n, item in enumerate(items)]
