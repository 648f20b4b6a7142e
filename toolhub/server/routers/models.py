"""`/v1/models`: the chat and embedding models of the providers this server is configured for."""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from toolhub.agent.llm.model_configs import EmbeddingConfig, LLMConfig
from toolhub.server.deps import LLMProviders
from toolhub.server.listing import KnownQueryOnly
from toolhub.server.routers import API_PREFIX

router = APIRouter(prefix=f"{API_PREFIX}/models", tags=["models"])


@router.get("", response_model=list[LLMConfig], operation_id="list_models", dependencies=[KnownQueryOnly])
async def list_models(
    providers: LLMProviders,
    provider_category: Annotated[
        list[Literal["base", "byok"]] | None, Query(description="Only models of these provider categories.")
    ] = None,
    provider_name: Annotated[str | None, Query(description="Only models of this provider.")] = None,
    provider_type: Annotated[str | None, Query(description="Only models of this provider type.")] = None,
) -> list[dict[str, Any]]:
    """Each configured provider's model list, asked once and cached; a provider that does not answer within a
    short timeout lists nothing."""
    return await providers.list_llm_models(
        provider_name=provider_name, provider_type=provider_type, provider_category=provider_category or ()
    )


@router.get(
    "/embedding",
    response_model=list[EmbeddingConfig],
    operation_id="list_embedding_models",
    dependencies=[KnownQueryOnly],
)
async def list_embedding_models(providers: LLMProviders) -> list[dict[str, Any]]:
    return await providers.list_embedding_models()
