"""An agent's messages, runs and steps, for one organization."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from toolhub.store.models import Message, Run, Step, utcnow
from toolhub.store.repositories.base import OrgRepository

SEARCH_PAGE_SIZE = 5


class MessageClock:
    """Creation times that strictly increase within this process, so (created_at, id) keeps conversation order
    even for rows written in the same microsecond."""

    def __init__(self) -> None:
        self._last: datetime | None = None

    def __call__(self) -> datetime:
        now = utcnow()
        if self._last is not None and now <= self._last:
            now = self._last + timedelta(microseconds=1)
        self._last = now
        return now


class MessageRepository(OrgRepository[Message]):
    model = Message
    label = "Message"

    async def in_context(self, agent_id: str) -> list[Message]:
        """The messages the model reads, oldest first."""
        query = self._select().where(Message.agent_id == agent_id, Message.in_context.is_(True))
        return list((await self.session.execute(query.order_by(Message.created_at, Message.id))).scalars())

    async def in_context_ids(self, agent_id: str) -> list[str]:
        query = (
            select(Message.id)
            .where(Message.agent_id == agent_id, Message.in_context.is_(True))
            .order_by(Message.created_at, Message.id)
        )
        return list((await self.session.execute(query)).scalars())

    async def add_all(self, rows: Sequence[Message]) -> None:
        for row in rows:
            self.stage(row)
        await self.session.flush()

    async def search(self, agent_id: str, query: str, page: int) -> tuple[list[Message], int]:
        """User and assistant messages of the agent whose text contains `query` (ignoring case): one page of
        `SEARCH_PAGE_SIZE`, newest first, and the number of matches."""
        matches = [
            Message.organization_id == self.actor.organization_id,
            Message.agent_id == agent_id,
            Message.role.in_(["user", "assistant"]),
            func.lower(Message.content).contains(query.lower(), autoescape=True),
        ]
        total = (await self.session.execute(select(func.count()).select_from(Message).where(*matches))).scalar_one()
        rows = await self.session.execute(
            select(Message)
            .where(*matches)
            .order_by(Message.created_at.desc(), Message.id.desc())
            .offset(page * SEARCH_PAGE_SIZE)
            .limit(SEARCH_PAGE_SIZE)
        )
        return list(rows.scalars()), total

    async def reset(self, agent_id: str, *, keep: str | None) -> None:
        """Take every message but `keep` (the system message) out of the model's context."""
        conditions = [Message.organization_id == self.actor.organization_id, Message.agent_id == agent_id]
        if keep is not None:
            conditions.append(Message.id != keep)
        await self.session.execute(update(Message).where(*conditions).values(in_context=False))


ACTIVE_STATUSES = ("created", "running")


class RunRepository(OrgRepository[Run]):
    model = Run
    label = "Run"

    async def active(self, agent_id: str, run_ids: Sequence[str] | None = None) -> list[Run]:
        """The agent's runs that have not ended (only those of `run_ids` when given)."""
        conditions = [Run.agent_id == agent_id, Run.status.in_(ACTIVE_STATUSES)]
        if run_ids is not None:
            conditions.append(Run.id.in_(list(run_ids)))
        return await self.list(*conditions)

    @staticmethod
    async def fail_unfinished(session: AsyncSession, instance_id: str, reason: str) -> int:
        """Fail every run `instance_id` left unfinished (any organization: this is the server's own clean-up)."""
        rows = (
            await session.execute(
                select(Run).where(Run.instance_id == instance_id, Run.status.in_(ACTIVE_STATUSES))
            )
        ).scalars().all()
        now = utcnow()
        for run in rows:
            run.status, run.stop_reason, run.completed_at, run.updated_at = "failed", "error", now, now
            run.metadata_ = {**(run.metadata_ or {}), "error": reason}
        return len(rows)


@dataclass(frozen=True)
class StepTotals:
    steps: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0


class StepRepository(OrgRepository[Step]):
    model = Step
    label = "Step"

    async def totals(self, run_id: str) -> StepTotals:
        """What a run used, summed over its stored steps."""
        query = select(
            func.count(Step.id),
            func.coalesce(func.sum(Step.prompt_tokens), 0),
            func.coalesce(func.sum(Step.completion_tokens), 0),
            func.coalesce(func.sum(Step.total_tokens), 0),
        ).where(Step.organization_id == self.actor.organization_id, Step.run_id == run_id)
        return StepTotals(*(await self.session.execute(query)).one())
