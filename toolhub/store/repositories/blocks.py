"""Memory block rows for one organization, and which agents they are attached to."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from toolhub.store.ids import new_id
from toolhub.store.models import AgentBlock, Block
from toolhub.store.repositories.base import OrgRepository
from toolhub.store.repositories.json_lists import tags_match


@dataclass(frozen=True)
class BlockFilters:
    """Letta's block-list filters; every one given narrows the list (they AND together)."""

    label: str | None = None
    """Exact label."""
    templates_only: bool = False
    """Templates when true, other blocks when false (as Letta filters `is_template`)."""
    name: str | None = None
    """Exact template name."""
    tags: Sequence[str] = ()
    match_all_tags: bool = False
    label_search: str | None = None
    """Case-insensitive substring of the label (as the two search filters below, `%` and `_` literal)."""
    value_search: str | None = None
    description_search: str | None = None
    agents_count_gt: int | None = None
    agents_count_lt: int | None = None
    agents_count_eq: int | None = None

    def conditions(self, dialect: str) -> list[Any]:
        conditions: list[Any] = [Block.is_template == self.templates_only]
        if self.label is not None:
            conditions.append(Block.label == self.label)
        if self.name is not None:
            conditions.append(Block.template_name == self.name)
        if self.tags:
            conditions.append(tags_match(Block.tags, self.tags, match_all=self.match_all_tags, dialect=dialect))
        for column, text in (
            (Block.label, self.label_search),
            (Block.value, self.value_search),
            (Block.description, self.description_search),
        ):
            if text:
                conditions.append(func.lower(column).contains(text.lower(), autoescape=True))
        attached = select(func.count()).where(AgentBlock.block_id == Block.id).correlate(Block).scalar_subquery()
        if self.agents_count_gt is not None:
            conditions.append(attached > self.agents_count_gt)
        if self.agents_count_lt is not None:
            conditions.append(attached < self.agents_count_lt)
        if self.agents_count_eq is not None:
            conditions.append(attached == self.agents_count_eq)
        return conditions


class BlockRepository(OrgRepository[Block]):
    model = Block
    label = "Block"

    @property
    def dialect(self) -> str:
        return self.session.bind.dialect.name

    async def create(self, **fields: Any) -> Block:
        return await self.add(Block(id=new_id("block"), **fields))

    async def update(self, row: Block, **fields: Any) -> Block:
        for key, value in fields.items():
            setattr(row, key, value)
        return await self.touch(row)

    async def get_many(self, block_ids: Iterable[str]) -> dict[str, Block]:
        """The organization's blocks among `block_ids`, by id (unknown ids are simply absent)."""
        ids = list(block_ids)
        if not ids:
            return {}
        rows = (await self.session.execute(self._select().where(Block.id.in_(ids)))).scalars()
        return {row.id: row for row in rows}

    async def count(self, filters: BlockFilters) -> int:
        query = select(func.count()).select_from(Block).where(
            Block.organization_id == self.actor.organization_id, *filters.conditions(self.dialect)
        )
        return (await self.session.execute(query)).scalar_one()

    async def agent_ids(self, block_id: str) -> list[str]:
        """The agents `block_id` is attached to, in attachment order."""
        query = (
            select(AgentBlock.agent_id)
            .where(AgentBlock.block_id == block_id)
            .order_by(AgentBlock.created_at, AgentBlock.agent_id)
        )
        return list((await self.session.execute(query)).scalars())

    async def labels_beside(self, block_id: str, agent_ids: Iterable[str]) -> dict[str, set[str]]:
        """For each of `agent_ids`, the labels of its other blocks (to keep labels unique per agent)."""
        query = (
            select(AgentBlock.agent_id, Block.label)
            .join(Block, Block.id == AgentBlock.block_id)
            .where(AgentBlock.agent_id.in_(list(agent_ids)), AgentBlock.block_id != block_id)
        )
        labels: dict[str, set[str]] = {}
        for agent_id, label in await self.session.execute(query):
            labels.setdefault(agent_id, set()).add(label)
        return labels
