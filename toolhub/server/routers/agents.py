"""`/v1/agents`: agents (create, list, count, retrieve, modify, delete), their tools (list, attach, detach, run,
approval choice) and their core memory (blocks by label, attach, detach), answered as each SDK generation
expects."""

import dataclasses
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Query, Request

from toolhub.errors import InvalidInputError
from toolhub.server.clients import IncludeQuery, IncludeRelationshipsQuery, is_v1_client, requested_relations
from toolhub.server.deps import Agents, CurrentActor
from toolhub.server.listing import KnownQueryOnly, ListParams, list_params
from toolhub.server.routers import API_PREFIX
from toolhub.server.schemas.agents import (
    AgentCreate,
    AgentState,
    AgentUpdate,
    Memory,
    ModifyApprovalRequest,
    ToolExecuteRequest,
    ToolExecutionResult,
)
from toolhub.server.schemas.blocks import Block, BlockUpdate
from toolhub.store.repositories.agents import AgentFilters
from toolhub.tools.model import Tool

router = APIRouter(prefix=f"{API_PREFIX}/agents", tags=["agents"])

V1_AGENT_TOOLS_LIMIT = 10
"""Letta 0.16's page of an agent's tools for 1.x clients; 0.1.x clients get every tool, as Letta 0.8 answered."""

TagsQuery = Annotated[list[str] | None, Query(description="Only agents with any (or all) of these tags.")]
MatchAllTagsQuery = Annotated[bool, Query(description="With tags: agents that have all of them, not any.")]
QueryTextQuery = Annotated[str | None, Query(description="Only agents whose name contains this, ignoring case.")]


def _filters(
    name: str | None,
    tags: list[str] | None,
    match_all_tags: bool,
    query_text: str | None,
    last_stop_reason: str | None,
    created_by_id: str | None,
) -> AgentFilters:
    return AgentFilters(
        name=name,
        tags=tuple(tags or ()),
        match_all_tags=match_all_tags,
        query_text=query_text,
        last_stop_reason=last_stop_reason,
        created_by_id=created_by_id,
    )


@router.post("", response_model=AgentState, operation_id="create_agent")
async def create_agent(body: AgentCreate, request: Request, actor: CurrentActor, agents: Agents) -> AgentState:
    """Always the full AgentState, whatever the client (as Letta)."""
    return await agents.create(actor, body, v1_client=is_v1_client(request))


@router.get("", response_model=list[AgentState], operation_id="list_agents")
async def list_agents(
    request: Request,
    actor: CurrentActor,
    agents: Agents,
    page: Annotated[ListParams, list_params(limit=50, order="desc")],
    name: Annotated[str | None, Query(description="Only agents with this exact name.")] = None,
    tags: TagsQuery = None,
    match_all_tags: MatchAllTagsQuery = False,
    query_text: QueryTextQuery = None,
    last_stop_reason: Annotated[str | None, Query(description="Only agents whose last run stopped so.")] = None,
    created_by_id: Annotated[str | None, Query(description="Only agents this user created.")] = None,
    include: IncludeQuery = None,
    include_relationships: IncludeRelationshipsQuery = None,
    order_by: Annotated[Literal["created_at"], Query(description="Field to sort by.")] = "created_at",
    sort_by: Annotated[Literal["created_at"] | None, Query(description="Deprecated form of order_by.")] = None,
    ascending: Annotated[bool | None, Query(description="Deprecated form of order (when order is not sent).")] = None,
) -> list[AgentState]:
    """Newest first by default; keyset cursors; filters ANDed."""
    if ascending is not None and "order" not in request.query_params:
        page = dataclasses.replace(page, order="asc" if ascending else "desc")
    filters = _filters(name, tags, match_all_tags, query_text, last_stop_reason, created_by_id)
    relations = requested_relations(request, include, include_relationships)
    return await agents.list_agents(actor, filters, page, relations)


@router.get("/count", response_model=int, operation_id="count_agents", dependencies=[KnownQueryOnly])
async def count_agents(
    actor: CurrentActor,
    agents: Agents,
    name: Annotated[str | None, Query(description="Only agents with this exact name.")] = None,
    tags: TagsQuery = None,
    match_all_tags: MatchAllTagsQuery = False,
    query_text: QueryTextQuery = None,
    last_stop_reason: Annotated[str | None, Query(description="Only agents whose last run stopped so.")] = None,
    created_by_id: Annotated[str | None, Query(description="Only agents this user created.")] = None,
) -> int:
    filters = _filters(name, tags, match_all_tags, query_text, last_stop_reason, created_by_id)
    return await agents.count(actor, filters)


@router.get("/{agent_id}", response_model=AgentState, operation_id="retrieve_agent", dependencies=[KnownQueryOnly])
async def retrieve_agent(
    agent_id: str,
    request: Request,
    actor: CurrentActor,
    agents: Agents,
    include: IncludeQuery = None,
    include_relationships: IncludeRelationshipsQuery = None,
) -> AgentState:
    return await agents.state(actor, agent_id, requested_relations(request, include, include_relationships))


@router.patch("/{agent_id}", response_model=AgentState, operation_id="modify_agent")
async def modify_agent(agent_id: str, body: AgentUpdate, actor: CurrentActor, agents: Agents) -> AgentState:
    return await agents.modify(actor, agent_id, body)


@router.delete("/{agent_id}", operation_id="delete_agent")
async def delete_agent(agent_id: str, actor: CurrentActor, agents: Agents) -> dict[str, str]:
    await agents.delete(actor, agent_id)
    return {"message": f"Agent id={agent_id} successfully deleted"}


# -- tools ---------------------------------------------------------------------------------------------------------


@router.get("/{agent_id}/tools", response_model=list[Tool], operation_id="list_agent_tools")
async def list_agent_tools(
    agent_id: str,
    request: Request,
    actor: CurrentActor,
    agents: Agents,
    page: Annotated[ListParams, list_params(limit=10_000, order="desc")],
    order_by: Annotated[Literal["created_at"], Query(description="Field to sort by.")] = "created_at",
) -> list[Any]:
    """Keyset pages in the listed order (newest tool first by default)."""
    if "limit" not in request.query_params and is_v1_client(request):
        page = dataclasses.replace(page, limit=V1_AGENT_TOOLS_LIMIT)
    return await agents.list_tools(actor, agent_id, page)


@router.patch(
    "/{agent_id}/tools/attach/{tool_id}", response_model=AgentState | None, operation_id="attach_tool_to_agent"
)
async def attach_tool(
    agent_id: str, tool_id: str, request: Request, actor: CurrentActor, agents: Agents
) -> AgentState | None:
    """`null` for a 1.x client, the AgentState for a legacy one (as Letta 0.16)."""
    state = await agents.attach_tool(actor, agent_id, tool_id)
    return None if is_v1_client(request) else state


@router.patch(
    "/{agent_id}/tools/detach/{tool_id}", response_model=AgentState | None, operation_id="detach_tool_from_agent"
)
async def detach_tool(
    agent_id: str, tool_id: str, request: Request, actor: CurrentActor, agents: Agents
) -> AgentState | None:
    state = await agents.detach_tool(actor, agent_id, tool_id)
    return None if is_v1_client(request) else state


@router.patch(
    "/{agent_id}/tools/approval/{tool_name}", response_model=AgentState | None, operation_id="modify_approval_for_tool"
)
async def modify_approval_for_tool(
    agent_id: str,
    tool_name: str,
    request: Request,
    actor: CurrentActor,
    agents: Agents,
    body: Annotated[ModifyApprovalRequest | None, Body()] = None,
    requires_approval: Annotated[bool | None, Query(description="Deprecated: send it in the body.")] = None,
) -> AgentState | None:
    """Whether this agent's calls of the tool wait for the client's approval (over the tool's
    `default_requires_approval`). `null` for a 1.x client, the AgentState for a legacy one."""
    wanted = body.requires_approval if body is not None else requires_approval
    if wanted is None:
        raise InvalidInputError("Send requires_approval (true or false)")
    state = await agents.choose_approval(actor, agent_id, tool_name, wanted)
    return None if is_v1_client(request) else state


@router.post(
    "/{agent_id}/tools/{tool_name}/run", response_model=ToolExecutionResult, operation_id="run_tool_for_agent"
)
async def run_tool_for_agent(
    agent_id: str,
    tool_name: str,
    actor: CurrentActor,
    agents: Agents,
    body: Annotated[ToolExecuteRequest | None, Body()] = None,
) -> ToolExecutionResult:
    """A failing tool is a 200 with `status: "error"`; a sandbox that cannot run it is a 503."""
    args = body.args if body is not None else {}
    return await agents.run_tool(actor, agent_id, tool_name, args)


# -- core memory ---------------------------------------------------------------------------------------------------


@router.get("/{agent_id}/core-memory", response_model=Memory, operation_id="retrieve_agent_memory")
async def retrieve_agent_memory(agent_id: str, actor: CurrentActor, agents: Agents) -> Memory:
    return await agents.memory(actor, agent_id)


@router.get("/{agent_id}/core-memory/blocks", response_model=list[Block], operation_id="list_core_memory_blocks")
async def list_core_memory_blocks(
    agent_id: str,
    actor: CurrentActor,
    agents: Agents,
    page: Annotated[ListParams, list_params(limit=100, order="desc")],
    order_by: Annotated[Literal["created_at"], Query(description="Field to sort by.")] = "created_at",
) -> list[Block]:
    return [Block.from_row(row) for row in await agents.list_blocks(actor, agent_id, page)]


@router.patch(
    "/{agent_id}/core-memory/blocks/attach/{block_id}",
    response_model=AgentState,
    operation_id="attach_core_memory_block",
)
async def attach_core_memory_block(agent_id: str, block_id: str, actor: CurrentActor, agents: Agents) -> AgentState:
    return await agents.attach_block(actor, agent_id, block_id)


@router.patch(
    "/{agent_id}/core-memory/blocks/detach/{block_id}",
    response_model=AgentState,
    operation_id="detach_core_memory_block",
)
async def detach_core_memory_block(agent_id: str, block_id: str, actor: CurrentActor, agents: Agents) -> AgentState:
    return await agents.detach_block(actor, agent_id, block_id)


@router.get(
    "/{agent_id}/core-memory/blocks/{block_label}", response_model=Block, operation_id="retrieve_core_memory_block"
)
async def retrieve_core_memory_block(agent_id: str, block_label: str, actor: CurrentActor, agents: Agents) -> Block:
    return Block.from_row(await agents.block(actor, agent_id, block_label))


@router.patch(
    "/{agent_id}/core-memory/blocks/{block_label}", response_model=Block, operation_id="modify_core_memory_block"
)
async def modify_core_memory_block(
    agent_id: str, block_label: str, body: BlockUpdate, actor: CurrentActor, agents: Agents
) -> Block:
    return Block.from_row(await agents.modify_block(actor, agent_id, block_label, body))
