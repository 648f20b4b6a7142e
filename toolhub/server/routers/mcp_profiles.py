"""`/v1/mcp-profiles`: named subsets of the organization's tools, each served as its own MCP endpoint at
`/mcp/{name}` (a client that needs three tools should not pay for the tokens of three hundred)."""

from typing import Annotated, Any

from fastapi import APIRouter

from toolhub.server.deps import CurrentActor, MCPProfiles
from toolhub.server.listing import ListParams, list_params
from toolhub.server.routers import API_PREFIX
from toolhub.server.schemas.mcp_profiles import MCPProfile, MCPProfileCreate, MCPProfileUpdate

router = APIRouter(prefix=f"{API_PREFIX}/mcp-profiles", tags=["mcp-profiles"])


@router.get("", response_model=list[MCPProfile], operation_id="list_mcp_profiles")
async def list_mcp_profiles(
    actor: CurrentActor, profiles: MCPProfiles, page: Annotated[ListParams, list_params(limit=50, order="asc")]
) -> list[Any]:
    return await profiles.page(actor, page)


@router.post("", response_model=MCPProfile, operation_id="create_mcp_profile")
async def create_mcp_profile(body: MCPProfileCreate, actor: CurrentActor, profiles: MCPProfiles) -> Any:
    return await profiles.create(actor, body)


@router.get("/{profile_id}", response_model=MCPProfile, operation_id="retrieve_mcp_profile")
async def retrieve_mcp_profile(profile_id: str, actor: CurrentActor, profiles: MCPProfiles) -> Any:
    return await profiles.get(actor, profile_id)


@router.patch("/{profile_id}", response_model=MCPProfile, operation_id="modify_mcp_profile")
async def modify_mcp_profile(
    profile_id: str, body: MCPProfileUpdate, actor: CurrentActor, profiles: MCPProfiles
) -> Any:
    return await profiles.modify(actor, profile_id, body)


@router.delete("/{profile_id}", operation_id="delete_mcp_profile")
async def delete_mcp_profile(profile_id: str, actor: CurrentActor, profiles: MCPProfiles) -> None:
    await profiles.delete(actor, profile_id)
