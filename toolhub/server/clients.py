"""Which SDK generation sent a request, told apart as Letta 0.16 does: some answers (agent relationships, tool
attach, the default agent type) differ between letta-client 1.x and the 0.1.x generation."""

import re
from collections.abc import Sequence

from typing import Annotated

from fastapi import Query, Request

from toolhub.server.schemas.agents import ALL_RELATIONS, Include, Relation

_LETTA_CLIENT_AGENT = re.compile(r"^(?:@letta-ai/)?letta-client/(\d+)")


def is_v1_client(request: Request) -> bool:
    """True for a 1.x client: a Stainless SDK (`X-Stainless-Package-Version`), no `User-Agent` at all, or a
    `letta-client/<v>` / `@letta-ai/letta-client/<v>` agent with v ≥ 1. Anything else (0.1.x's `python-httpx/…`,
    curl, browsers) is a legacy client."""
    headers = request.headers
    if "x-stainless-package-version" in headers:
        return True
    agent = headers.get("user-agent")
    if agent is None:
        return True
    match = _LETTA_CLIENT_AGENT.match(agent.strip())
    return match is not None and int(match.group(1)) >= 1


IncludeQuery = Annotated[
    list[Include] | None, Query(description="Relationships to load (1.x; repeatable). None by default for 1.x.")
]
IncludeRelationshipsQuery = Annotated[
    list[str] | None, Query(description="Deprecated 0.1.x form of include: tools, memory, tags, secrets.")
]

_INCLUDED: dict[str, Relation] = {
    "agent.tools": "tools",
    "agent.blocks": "blocks",
    "agent.secrets": "secrets",
    "agent.tags": "tags",
    "agent.pending_approval": "pending_approval",
}
_LEGACY_RELATIONSHIPS: dict[str, Relation] = {
    "tools": "tools",
    "memory": "blocks",
    "blocks": "blocks",
    "tags": "tags",
    "tool_exec_environment_variables": "secrets",
    "secrets": "secrets",
}


def requested_relations(
    request: Request, include: Sequence[str] | None, include_relationships: Sequence[str] | None
) -> frozenset[Relation]:
    """What an AgentState answer carries: what `include` (1.x) or `include_relationships` (0.1.x) names when
    either is given; otherwise nothing for a 1.x client and everything for a legacy one, as Letta 0.16 answers."""
    if include is None and include_relationships is None:
        return frozenset() if is_v1_client(request) else ALL_RELATIONS
    named = [_INCLUDED[name] for name in include or () if name in _INCLUDED]
    named += [_LEGACY_RELATIONSHIPS[name] for name in include_relationships or () if name in _LEGACY_RELATIONSHIPS]
    return frozenset(named)
