"""Run callbacks: when a background run that has a `callback_url` ends, its outcome is POSTed there.

Delivery happens in a task of its own, so a slow or dead receiver never holds the run (or its agent) up; it is
retried with exponential back-off on connection errors, 429 and 5xx, and how it went is recorded on the run
(`callback_sent_at`, `callback_status_code`, `callback_error`). Link-local and cloud-metadata targets are refused
(the MCP bridge's rule), also when a name resolves to one.
"""

import asyncio
import logging

import httpx

from toolhub.mcp_bridge.netguard import resolved_refusal
from toolhub.store.db import Database
from toolhub.store.models import Run, utcnow
from toolhub.store.repositories import Actor
from toolhub.store.repositories.messages import RunRepository

logger = logging.getLogger("toolhub.runs")


class Callbacks:
    def __init__(self, db: Database, *, attempts: int = 4, timeout_s: float = 10.0, backoff_s: float = 0.5) -> None:
        self._db = db
        self._attempts = attempts
        self._timeout_s = timeout_s
        self._backoff_s = backoff_s
        self._pending: set[asyncio.Task[None]] = set()

    def send(self, actor: Actor, run_id: str) -> None:
        task = asyncio.create_task(self._deliver(actor, run_id), name=f"callback {run_id}")
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def close(self) -> None:
        """Give deliveries in flight a moment at shutdown, then drop them."""
        if self._pending:
            await asyncio.wait(self._pending, timeout=2)
        for task in self._pending:
            task.cancel()

    async def _deliver(self, actor: Actor, run_id: str) -> None:
        async with self._db.session() as session:
            run = await RunRepository(session, actor).get(run_id)
        url = run.callback_url or ""
        payload = {
            "run_id": run.id,
            "agent_id": run.agent_id,
            "status": run.status,
            "stop_reason": run.stop_reason,
            "completed_at": run.completed_at.isoformat() if run.completed_at else None,
            "usage": run.usage,
            "metadata": run.metadata_,
        }
        status, error = None, await resolved_refusal(url)
        if error is None:
            status, error = await self._post(url, payload)
        if error:
            logger.warning("callback of run %s to %s failed: %s", run_id, url, error)
        async with self._db.session() as session:
            stored = await session.get(Run, run_id)
            if stored is not None:
                stored.callback_sent_at = utcnow()
                stored.callback_status_code = status
                stored.callback_error = error

    async def _post(self, url: str, payload: dict) -> tuple[int | None, str | None]:
        status, error = None, None
        async with httpx.AsyncClient(timeout=self._timeout_s, follow_redirects=False) as client:
            for attempt in range(self._attempts):
                try:
                    response = await client.post(url, json=payload)
                except httpx.HTTPError as exc:
                    status, error = None, f"{type(exc).__name__}: {exc}"
                else:
                    status = response.status_code
                    error = None if response.is_success else f"the receiver answered HTTP {status}"
                    if status < 500 and status != 429:
                        break
                if attempt + 1 < self._attempts:
                    await asyncio.sleep(self._backoff_s * 2**attempt)
        return status, error
