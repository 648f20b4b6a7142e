"""Who an MCP request acts for, and through which profile."""

from dataclasses import dataclass

from toolhub.services.mcp_profiles import ProfileScope
from toolhub.store.repositories import Actor

Audience = tuple[str, str | None]
"""(organization id, profile id): callers with the same audience see the same tools."""


@dataclass(frozen=True, kw_only=True)
class Caller:
    actor: Actor
    profile: ProfileScope | None = None
    """The profile of `/mcp/{profile}` as read for this request; None at `/mcp`."""

    @property
    def audience(self) -> Audience:
        return (self.actor.organization_id, self.profile.id if self.profile else None)

    @property
    def owner(self) -> str:
        """What an MCP session is bound to: the user and the endpoint that opened it."""
        return f"{self.actor.user_id}/{self.profile.id if self.profile else '-'}"

    @property
    def profile_name(self) -> str:
        return self.profile.name if self.profile else "-"
