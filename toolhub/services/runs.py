"""Reading runs and steps: lists with Letta's filters, a run's messages, steps and usage."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from toolhub.agent.views import ViewOptions, letta_messages
from toolhub.server.listing import ListParams
from toolhub.store.db import Database
from toolhub.store.models import Message, Run, Step
from toolhub.store.repositories import Actor
from toolhub.store.repositories.messages import (
    ACTIVE_STATUSES,
    MessageRepository,
    RunRepository,
    StepRepository,
    StepTotals,
)


@dataclass(frozen=True)
class RunFilters:
    agent_ids: Sequence[str] = ()
    statuses: Sequence[str] = ()
    active: bool = False
    background: bool | None = None
    stop_reason: str | None = None

    def conditions(self) -> list[Any]:
        conditions: list[Any] = []
        if self.agent_ids:
            conditions.append(Run.agent_id.in_(list(self.agent_ids)))
        if self.statuses:
            conditions.append(Run.status.in_(list(self.statuses)))
        if self.active:
            conditions.append(Run.status.in_(ACTIVE_STATUSES))
        if self.background is not None:
            conditions.append(Run.background.is_(self.background))
        if self.stop_reason is not None:
            conditions.append(Run.stop_reason == self.stop_reason)
        return conditions


class RunService:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def list_runs(self, actor: Actor, filters: RunFilters, page: ListParams) -> list[Run]:
        async with self._db.session() as session:
            return await RunRepository(session, actor).list(*filters.conditions(), **page.cursor())

    async def get(self, actor: Actor, run_id: str) -> Run:
        async with self._db.session() as session:
            return await RunRepository(session, actor).get(run_id)

    async def delete(self, actor: Actor, run_id: str) -> Run:
        """Forget a run (its messages stay in the agent's history)."""
        async with self._db.session() as session:
            runs = RunRepository(session, actor)
            run = await runs.get(run_id)
            await runs.delete(run_id)
            return run

    async def messages(self, actor: Actor, run_id: str, page: ListParams, view: ViewOptions) -> list[Any]:
        async with self._db.session() as session:
            await RunRepository(session, actor).get(run_id)
            rows = await MessageRepository(session, actor).list(Message.run_id == run_id, **page.cursor())
        return letta_messages(rows, view)

    async def steps(
        self,
        actor: Actor,
        page: ListParams,
        *,
        agent_id: str | None = None,
        run_id: str | None = None,
        model: str | None = None,
    ) -> list[Step]:
        pairs = ((Step.agent_id, agent_id), (Step.run_id, run_id), (Step.model, model))
        conditions = [column == value for column, value in pairs if value is not None]
        async with self._db.session() as session:
            return await StepRepository(session, actor).list(*conditions, **page.cursor())

    async def run_steps(self, actor: Actor, run_id: str, page: ListParams) -> list[Step]:
        await self.get(actor, run_id)
        return await self.steps(actor, page, run_id=run_id)

    async def step(self, actor: Actor, step_id: str) -> Step:
        async with self._db.session() as session:
            return await StepRepository(session, actor).get(step_id)

    async def usage(self, actor: Actor, run_id: str) -> StepTotals:
        async with self._db.session() as session:
            await RunRepository(session, actor).get(run_id)
            return await StepRepository(session, actor).totals(run_id)
