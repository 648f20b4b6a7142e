"""Tool-set change notices: services say "this organization's tools changed" after they commit, and whoever
shows tool lists to long-lived clients (the MCP endpoint's `notifications/tools/list_changed`) listens here.

A notice names only the organization; listeners work out themselves whether what their clients see changed, so
a service never needs to know who is connected or through which profile. In-process only: with several server
replicas, a client connected to one does not hear of changes made through another.
"""

import logging
from collections.abc import Awaitable, Callable

logger = logging.getLogger("toolhub.services")

ChangeListener = Callable[[str], Awaitable[None]]
"""Called with the organization id; it should return quickly (schedule slow work) and must not raise."""


class ToolChanges:
    """An async callback registry; one per app, shared by the services that write tools or profiles."""

    def __init__(self) -> None:
        self._listeners: dict[object, ChangeListener] = {}

    def subscribe(self, listener: ChangeListener) -> Callable[[], None]:
        """Register `listener`; returns an idempotent unsubscribe."""
        token = object()
        self._listeners[token] = listener

        def unsubscribe() -> None:
            self._listeners.pop(token, None)

        return unsubscribe

    async def publish(self, organization_id: str) -> None:
        """Tell every listener; a failing listener is logged, never the writer's failure (its write committed)."""
        for listener in list(self._listeners.values()):
            try:
                await listener(organization_id)
            except Exception:
                logger.exception("tool change listener failed", extra={"fields": {"organization_id": organization_id}})
