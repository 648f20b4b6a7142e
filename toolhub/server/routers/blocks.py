"""`/v1/blocks`: memory blocks on their own (create, list, count, retrieve, modify, delete) and the agents a block
is attached to."""

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request

from toolhub.server.clients import IncludeQuery, IncludeRelationshipsQuery, requested_relations
from toolhub.server.deps import Agents, Blocks, CurrentActor
from toolhub.server.listing import KnownQueryOnly, ListParams, list_params
from toolhub.server.routers import API_PREFIX
from toolhub.server.schemas.agents import AgentState
from toolhub.server.schemas.blocks import Block, BlockCreate, BlockUpdate
from toolhub.store.repositories.blocks import BlockFilters

router = APIRouter(prefix=f"{API_PREFIX}/blocks", tags=["blocks"])

LabelQuery = Annotated[str | None, Query(description="Only blocks with this exact label.")]
TemplatesOnlyQuery = Annotated[bool, Query(description="Templates only (true) or no templates (false, default).")]
NameQuery = Annotated[str | None, Query(description="Only the templates with this name.")]
TagsQuery = Annotated[list[str] | None, Query(description="Only blocks with any (or all) of these tags.")]
MatchAllTagsQuery = Annotated[bool, Query(description="With tags: blocks that have all of them, not any.")]
CountQuery = Annotated[int | None, Query(ge=0, le=2**31 - 1)]
"""Bounded so the database (PostgreSQL compares it as a 32-bit integer) never sees one it cannot hold."""


@router.post("", response_model=Block, operation_id="create_block")
async def create_block(body: BlockCreate, actor: CurrentActor, blocks: Blocks) -> Block:
    return Block.from_row(await blocks.create(actor, body))


@router.get("", response_model=list[Block], operation_id="list_blocks")
async def list_blocks(
    actor: CurrentActor,
    blocks: Blocks,
    page: Annotated[ListParams, list_params(limit=50, order="asc")],
    label: LabelQuery = None,
    templates_only: TemplatesOnlyQuery = False,
    name: NameQuery = None,
    tags: TagsQuery = None,
    match_all_tags: MatchAllTagsQuery = False,
    label_search: Annotated[str | None, Query(description="Label contains this, ignoring case.")] = None,
    value_search: Annotated[str | None, Query(description="Value contains this, ignoring case.")] = None,
    description_search: Annotated[str | None, Query(description="Description contains this, ignoring case.")] = None,
    connected_to_agents_count_gt: CountQuery = None,
    connected_to_agents_count_lt: CountQuery = None,
    connected_to_agents_count_eq: CountQuery = None,
    order_by: Annotated[Literal["created_at"], Query(description="Field to sort by.")] = "created_at",
) -> list[Block]:
    """Oldest first by default (as Letta 1.x); keyset cursors; filters ANDed."""
    filters = BlockFilters(
        label=label,
        templates_only=templates_only,
        name=name,
        tags=tuple(tags or ()),
        match_all_tags=match_all_tags,
        label_search=label_search,
        value_search=value_search,
        description_search=description_search,
        agents_count_gt=connected_to_agents_count_gt,
        agents_count_lt=connected_to_agents_count_lt,
        agents_count_eq=connected_to_agents_count_eq,
    )
    return [Block.from_row(row) for row in await blocks.list(actor, filters, page)]


@router.get("/count", response_model=int, operation_id="count_blocks", dependencies=[KnownQueryOnly])
async def count_blocks(
    actor: CurrentActor,
    blocks: Blocks,
    label: LabelQuery = None,
    templates_only: TemplatesOnlyQuery = False,
    name: NameQuery = None,
    tags: TagsQuery = None,
    match_all_tags: MatchAllTagsQuery = False,
) -> int:
    filters = BlockFilters(
        label=label, templates_only=templates_only, name=name, tags=tuple(tags or ()), match_all_tags=match_all_tags
    )
    return await blocks.count(actor, filters)


@router.get("/{block_id}", response_model=Block, operation_id="retrieve_block")
async def retrieve_block(block_id: str, actor: CurrentActor, blocks: Blocks) -> Block:
    return Block.from_row(await blocks.get(actor, block_id))


@router.patch("/{block_id}", response_model=Block, operation_id="modify_block")
async def modify_block(block_id: str, body: BlockUpdate, actor: CurrentActor, blocks: Blocks) -> Block:
    return Block.from_row(await blocks.modify(actor, block_id, body))


@router.delete("/{block_id}", response_model=Block, operation_id="delete_block")
async def delete_block(block_id: str, actor: CurrentActor, blocks: Blocks) -> Block:
    """Detaches it from every agent; answers the deleted block (0.1.x reads it, 1.x ignores it)."""
    return Block.from_row(await blocks.delete(actor, block_id))


@router.get("/{block_id}/agents", response_model=list[AgentState], operation_id="list_agents_for_block")
async def list_agents_for_block(
    block_id: str,
    request: Request,
    actor: CurrentActor,
    agents: Agents,
    page: Annotated[ListParams, list_params(limit=50, order="desc")],
    include: IncludeQuery = None,
    include_relationships: IncludeRelationshipsQuery = None,
    order_by: Annotated[Literal["created_at"], Query(description="Field to sort by.")] = "created_at",
) -> list[AgentState]:
    relations = requested_relations(request, include, include_relationships)
    return await agents.agents_of_block(actor, block_id, page, relations)
