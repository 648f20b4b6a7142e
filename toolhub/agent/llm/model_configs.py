"""Letta's `LLMConfig` and `EmbeddingConfig` as `/v1/models` lists them and agents carry them.

Field names and defaults follow what Letta 0.16.8 serves (`letta-0.16-samples/66_models_list.json`,
`67_embedding_models_list.json`); both SDK generations read these shapes.
"""

from typing import Literal

from pydantic import BaseModel

DEFAULT_CONTEXT_WINDOW = 30_000
"""Letta's window for a model it knows nothing about (what it lists for an OpenAI-compatible proxy's models)."""
DEFAULT_EMBEDDING_DIM = 1536
EMBEDDING_CHUNK_SIZE = 300
EMBEDDING_BATCH_SIZE = 32


class LLMConfig(BaseModel):
    handle: str
    name: str
    display_name: str
    provider_type: str
    provider_name: str
    provider_category: Literal["base", "byok"] = "base"
    model_type: Literal["llm"] = "llm"
    model: str
    """The provider's own name of the model."""
    model_endpoint_type: str
    model_endpoint: str | None
    model_wrapper: str | None = None
    context_window: int = DEFAULT_CONTEXT_WINDOW
    max_context_window: int = DEFAULT_CONTEXT_WINDOW
    put_inner_thoughts_in_kwargs: bool = False
    temperature: float = 1.0
    max_tokens: int | None = 4096
    enable_reasoner: bool = True
    reasoning_effort: str | None = None
    max_reasoning_tokens: int = 0
    effort: str | None = None
    frequency_penalty: float | None = None
    compatibility_type: str | None = None
    verbosity: str | None = None
    tier: str | None = None
    parallel_tool_calls: bool = False
    response_format: dict | None = None
    strict: bool = False
    return_logprobs: bool = False
    top_logprobs: int | None = None
    return_token_ids: bool = False
    tool_call_parser: str | None = None


class EmbeddingConfig(BaseModel):
    handle: str
    name: str
    display_name: str
    provider_type: str
    provider_name: str
    model_type: Literal["embedding"] = "embedding"
    embedding_endpoint_type: str
    embedding_endpoint: str | None
    embedding_model: str
    embedding_dim: int = DEFAULT_EMBEDDING_DIM
    embedding_chunk_size: int = EMBEDDING_CHUNK_SIZE
    batch_size: int = EMBEDDING_BATCH_SIZE
    azure_endpoint: str | None = None
    azure_version: str | None = None
    azure_deployment: str | None = None
