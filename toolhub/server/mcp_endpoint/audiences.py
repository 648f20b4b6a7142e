"""Who is waiting to hear that their tool list changed, grouped by what they see: an organization's tools whole
(`/mcp`) or through one profile (`/mcp/{profile}`). Free of the SDK: a listener is any async callable.

On a change notice for an organization, each of its groups recomputes the digest of what it sees and notifies
its listeners only when the digest moved, so a client of a "research" profile is not told to re-list (and maybe
to rebuild its model prompt) because a tool outside its profile changed. Recomputations run in the background,
one at a time per group, and a burst of notices costs at most one more.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from toolhub.server.mcp_endpoint.caller import Audience, Caller

logger = logging.getLogger("toolhub.mcp")

Notify = Callable[[], Awaitable[None]]
DigestOf = Callable[[Caller], Awaitable[str]]
"""The digest of what a caller sees now."""


class TooManyListenersError(Exception):
    """The server holds as many change listeners as it allows."""


@dataclass
class _Group:
    caller: Caller
    """Whose view the digest is computed for: every member of a group sees the same tools."""
    listeners: dict[object, Notify] = field(default_factory=dict)
    digest: str | None = None
    """What the group saw when last compared; None until known (a change is then always announced)."""
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    queued: bool = False


class Audiences:
    def __init__(self, digest_of: DigestOf, *, max_listeners: int = 10_000) -> None:
        self._digest_of = digest_of
        self._max_listeners = max_listeners
        self._groups: dict[Audience, _Group] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def join(self, caller: Caller) -> None:
        """Record what `caller`'s group sees now (once per group), so the next change is compared with it."""
        group = self._groups.setdefault(caller.audience, _Group(caller))
        async with group.lock:
            if group.digest is None:
                group.digest = await self._digest_of(caller)

    def register(self, caller: Caller, notify: Notify) -> Callable[[], None]:
        """Call `notify` whenever what `caller` sees changes; returns an idempotent unregister."""
        if sum(len(group.listeners) for group in self._groups.values()) >= self._max_listeners:
            raise TooManyListenersError(f"this server already holds {self._max_listeners} change listeners")
        audience = caller.audience
        group = self._groups.setdefault(audience, _Group(caller))
        token = object()
        group.listeners[token] = notify

        def unregister() -> None:
            group.listeners.pop(token, None)
            if not group.listeners and self._groups.get(audience) is group:
                del self._groups[audience]

        return unregister

    async def changed(self, organization_id: str) -> None:
        """A `ToolChanges` listener: queue a comparison for each of the organization's groups and return."""
        for audience, group in list(self._groups.items()):
            if audience[0] == organization_id and not group.queued:
                group.queued = True
                task = asyncio.create_task(self._compare(group))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    async def _compare(self, group: _Group) -> None:
        async with group.lock:
            group.queued = False  # a notice from now on queues another comparison, after this one
            try:
                digest = await self._digest_of(group.caller)
            except Exception:
                logger.exception("could not compare a tool list after a change")
                return
            if digest == group.digest:
                return
            group.digest = digest
            for notify in list(group.listeners.values()):
                try:
                    await notify()
                except Exception:
                    logger.exception("could not send tools/list_changed")

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._groups.clear()
