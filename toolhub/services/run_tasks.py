"""Runs executing in this process, each an asyncio task that publishes its loop events.

A message request starts a run here and follows its events: the sync answer collects them, a stream sends them
as they come, `/v1/runs/{id}/stream` replays them from the start and follows live. The run goes on when a
follower leaves (a dropped connection never stops a turn half-way); only `cancel` stops it.

Background (async) runs hold one of `workers` slots while they execute (`slot()`), so a burst of them cannot
starve the server; the others wait, and say so.
"""

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Generic, TypeVar

logger = logging.getLogger("toolhub.runs")

EventT = TypeVar("EventT")


class RunTask(Generic[EventT]):
    """One executing run: the events it published so far, and a way to wait for more."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self.events: list[EventT] = []
        self.finished = False
        self.task: asyncio.Task[None] | None = None
        self._more = asyncio.Event()

    def publish(self, event: EventT) -> None:
        self.events.append(event)
        self._more.set()
        self._more = asyncio.Event()

    def finish(self) -> None:
        self.finished = True
        self._more.set()

    async def follow(self) -> AsyncIterator[EventT]:
        """Every event from the first, then each new one as it is published, until the run finishes."""
        seen = 0
        while True:
            while seen < len(self.events):
                seen += 1
                yield self.events[seen - 1]
            if self.finished:
                return
            await self._more.wait()


class RunTasks(Generic[EventT]):
    """The registry of this process's executing runs."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._slots = asyncio.Semaphore(workers)
        self._running: dict[str, RunTask[EventT]] = {}
        self._waiting = 0

    def get(self, run_id: str) -> RunTask[EventT] | None:
        return self._running.get(run_id)

    @property
    def waiting(self) -> int:
        """Background runs waiting for a worker."""
        return self._waiting

    @property
    def all_busy(self) -> bool:
        """Whether a new background run would have to wait for a worker."""
        return self._slots.locked()

    def start(self, run_id: str, events: AsyncIterator[EventT]) -> RunTask[EventT]:
        """Drive `events` in a task of its own, publishing each event."""
        run: RunTask[EventT] = RunTask(run_id)
        self._running[run_id] = run
        run.task = asyncio.create_task(self._drive(run, events), name=f"run {run_id}")
        return run

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one of the background workers while a background run executes."""
        self._waiting += 1
        try:
            await self._slots.acquire()
        finally:
            self._waiting -= 1
        try:
            yield
        finally:
            self._slots.release()

    def cancel(self, run_id: str) -> bool:
        """Cancel a run executing here; False when it is not (finished, or on another replica)."""
        run = self._running.get(run_id)
        if run is None or run.task is None or run.task.done():
            return False
        run.task.cancel()
        return True

    async def close(self) -> None:
        """Cancel every run (server shutdown) and wait until they have recorded how they ended."""
        tasks = [run.task for run in self._running.values() if run.task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _drive(self, run: RunTask[EventT], events: AsyncIterator[EventT]) -> None:
        try:
            async for event in events:
                run.publish(event)
        except asyncio.CancelledError:
            logger.info("run %s cancelled", run.run_id)
        except Exception:
            logger.exception("run %s failed", run.run_id)
        finally:
            run.finish()
            self._running.pop(run.run_id, None)
