"""Warm containers for one pool key: a call checks one out, runs in a fresh fork inside it, and gives it back.

A container is given back only after a clean call; after a timeout, a kill, a crash, a cancelled call or any
error of the container itself it is removed, as it is after `max_calls` calls or `max_age_s` seconds. A container
that dies while idle is noticed at once and removed. The pool starts containers on demand up to `size`, keeps
`warm` of them idle and ready in the background, and a call that finds every container busy waits up to `wait_s`.
"""

import asyncio
import collections
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from toolhub.sandbox.base import SandboxError, ToolInvocation
from toolhub.sandbox.docker.container import SandboxContainer
from toolhub.sandbox.wire import Outcome

logger = logging.getLogger(__name__)


class PoolExhaustedError(SandboxError):
    """Every container of the pool stayed busy for as long as a call may wait."""


@dataclass(frozen=True, kw_only=True)
class PoolLimits:
    size: int
    """Containers at most, busy, idle and starting together."""
    max_calls: int = 200
    max_age_s: float = 600.0
    wait_s: float = 60.0
    warm: int = 1
    """Idle containers kept ready, so that a call rarely waits for a container to start."""


class ContainerPool:
    """See the module docstring. `start` makes a ready container; `stop` removes one."""

    def __init__(
        self,
        start: Callable[[], Awaitable[SandboxContainer]],
        stop: Callable[[SandboxContainer], Awaitable[None]],
        limits: PoolLimits,
    ) -> None:
        self._start = start
        self._stop = stop
        self._limits = limits
        self._idle: collections.deque[SandboxContainer] = collections.deque()
        self._busy: set[SandboxContainer] = set()
        self._starting = 0
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False

    async def run(self, invocation: ToolInvocation, env: dict[str, str]) -> Outcome:
        """Run one call in a container of this pool. Raises SandboxError (the container failed, or none was free)."""
        container = await self._checkout()
        clean = False
        try:
            outcome = await container.worker.run(invocation, env)
            clean = _clean(outcome)
            return outcome
        finally:
            self._checkin(container, clean)

    async def prewarm(self) -> None:
        """Have a container ready now (started here if none is idle), so the first call does not wait for one."""
        self._checkin(await self._checkout(), clean=True)

    def stats(self) -> dict[str, Any]:
        return {
            "idle": [container.id for container in self._idle],
            "busy": [container.id for container in self._busy],
            "starting": self._starting,
        }

    async def close(self) -> None:
        """Remove every container, busy ones too (their calls end with an error), and wait until all are gone."""
        self._closed = True
        self._wake(everyone=True)
        for container in [*self._idle, *self._busy]:
            self._retire(container)
        self._idle.clear()
        self._busy.clear()
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    # ---- checkout and checkin ------------------------------------------------------------------------------------

    async def _checkout(self) -> SandboxContainer:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._limits.wait_s
        while True:
            if self._closed:
                raise SandboxError("the sandbox is closed")
            container = self._take_idle()
            if container is None and self._total() < self._limits.size:
                self._starting += 1
                container = await self._start_container()
            if container is not None:
                self._busy.add(container)
                self._replenish()
                return container
            await self._wait_for_change(deadline - loop.time())

    def _checkin(self, container: SandboxContainer, clean: bool) -> None:
        if container not in self._busy:  # already retired by close()
            return
        self._busy.discard(container)
        container.calls += 1
        if clean and not self._closed and self._usable(container):
            self._idle.append(container)
            self._wake()
        else:
            self._retire(container)

    def _take_idle(self) -> SandboxContainer | None:
        """The most recently used idle container that may still serve; the others found on the way are retired."""
        while self._idle:
            container = self._idle.pop()
            if self._usable(container):
                return container
            self._retire(container)
        return None

    def _usable(self, container: SandboxContainer) -> bool:
        return (
            container.worker.alive
            and container.calls < self._limits.max_calls
            and time.monotonic() - container.started_at < self._limits.max_age_s
        )

    async def _wait_for_change(self, remaining: float) -> None:
        """Wait until a container comes back or a place frees up. Raises PoolExhaustedError when time is up."""
        if remaining <= 0:
            raise PoolExhaustedError(
                f"all {self._limits.size} sandbox containers stayed busy for {self._limits.wait_s:g} seconds"
            )
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await asyncio.wait_for(waiter, remaining)
        except TimeoutError:
            pass  # the caller's loop looks once more, then gives up
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self._wake()  # this caller was woken but leaves: pass the chance on
            raise
        finally:
            if waiter in self._waiters:
                self._waiters.remove(waiter)

    def _wake(self, *, everyone: bool = False) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                if not everyone:
                    return

    # ---- starting and retiring -----------------------------------------------------------------------------------

    def _total(self) -> int:
        return len(self._idle) + len(self._busy) + self._starting

    async def _start_container(self) -> SandboxContainer:
        """Start one container; the caller counted it in `_starting`, which it leaves when started or failed."""
        try:
            container = await self._start()
        except BaseException:
            self._wake()  # the place this start held is free again
            raise
        finally:
            self._starting -= 1
        container.process.on_exit(lambda: self._on_exit(container))
        return container

    def _replenish(self) -> None:
        """Start containers in the background until `warm` are idle or starting, within `size`."""
        limits = self._limits
        while not self._closed and len(self._idle) + self._starting < limits.warm and self._total() < limits.size:
            self._starting += 1
            self._spawn(self._start_idle())

    async def _start_idle(self) -> None:
        try:
            container = await self._start_container()
        except SandboxError as exc:
            logger.warning("could not start a spare sandbox container: %s", exc)
            return
        if self._closed:
            self._retire(container)
        else:
            self._idle.append(container)
            self._wake()

    def _on_exit(self, container: SandboxContainer) -> None:
        """A container's runner ended by itself (killed, crashed): an idle one is replaced at once."""
        if container in self._idle:
            self._idle.remove(container)
            self._retire(container)

    def _retire(self, container: SandboxContainer) -> None:
        self._spawn(self._stop(container))
        self._wake()
        self._replenish()

    def _spawn(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(_log_failure)


def _clean(outcome: Outcome) -> bool:
    """Whether the call ended as calls should: a result from the harness, no kill, no timeout, no cancellation."""
    header = outcome.header
    failed = header.get("timed_out") or header.get("cancelled") or header.get("refused") or header.get("signal")
    return bool(outcome.result) and not failed


def _log_failure(task: "asyncio.Task[None]") -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.warning("sandbox container housekeeping failed: %s", task.exception())
