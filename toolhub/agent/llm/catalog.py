"""What models the configured providers offer, for `GET /v1/models` and `/v1/models/embedding`.

Each provider's own model list is asked for at most once per `LISTED_TTL` (all providers at once, each with a
short timeout); a provider that does not answer contributes nothing and is asked again after `FAILED_TTL`, so a
dead Ollama neither slows every listing nor hides the other providers. Chat and embedding models are told apart
by name (`embed` in the id), as a model list says nothing more; OpenAI's embeddings are always listed, as Letta
lists them.
"""

import asyncio
import logging
import time
from collections.abc import Sequence
from typing import Any

from toolhub.agent.llm.base import LLMError
from toolhub.agent.llm.model_configs import DEFAULT_CONTEXT_WINDOW, DEFAULT_EMBEDDING_DIM, EmbeddingConfig, LLMConfig
from toolhub.agent.llm.specs import Adapter, ConfiguredProvider, ProviderSpec

logger = logging.getLogger("toolhub.llm")

LIST_TIMEOUT = 2.0
LISTED_TTL = 600.0
FAILED_TTL = 30.0
OPENAI_EMBEDDINGS = {"text-embedding-3-large": 3072, "text-embedding-3-small": 1536, "text-embedding-ada-002": 1536}
_OPENAI_CHAT_PREFIXES = ("gpt-4", "gpt-5", "o1", "o3", "o4")
_OPENAI_NOT_CHAT = ("transcribe", "search", "realtime", "tts", "audio", "computer", "image", "o1-mini", "o1-preview")
"""OpenAI's own list holds every model it serves; these cannot run Letta's tool-calling chat (Letta's filter)."""
_WINDOW_FIELDS = ("context_length", "context_window", "max_model_len")
"""Where OpenRouter, Together, LM Studio and vLLM say a model's window in their model lists."""


def llm_config(
    spec: ProviderSpec, model: str, *, prefix: str, endpoint: str | None, context_window: int | None = None
) -> LLMConfig:
    window = context_window or spec.context_window or DEFAULT_CONTEXT_WINDOW
    return LLMConfig(
        handle=f"{prefix}/{model}",
        name=model,
        display_name=model,
        provider_type=spec.provider_type,
        provider_name=spec.name,
        model=model,
        model_endpoint_type=spec.endpoint_type,
        model_endpoint=endpoint,
        context_window=window,
        max_context_window=window,
        max_tokens=spec.max_tokens,
    )


def embedding_config(spec: ProviderSpec, model: str, *, prefix: str, endpoint: str | None) -> EmbeddingConfig:
    return EmbeddingConfig(
        handle=f"{prefix}/{model}",
        name=model,
        display_name=model,
        provider_type=spec.provider_type,
        provider_name=spec.name,
        embedding_endpoint_type=spec.endpoint_type,
        embedding_endpoint=endpoint,
        embedding_model=model,
        embedding_dim=OPENAI_EMBEDDINGS.get(model, DEFAULT_EMBEDDING_DIM),
    )


def _is_embedding(model_id: str) -> bool:
    return "embed" in model_id.lower()


def _is_chat(provider: ConfiguredProvider, model_id: str) -> bool:
    if _is_embedding(model_id):
        return False
    if provider.official_openai:
        return model_id.startswith(_OPENAI_CHAT_PREFIXES) and not any(word in model_id for word in _OPENAI_NOT_CHAT)
    return True


def _window(entry: dict[str, Any]) -> int | None:
    for name in _WINDOW_FIELDS:
        value = entry.get(name)
        if isinstance(value, int) and value > 0:
            return value
    return None


class ModelCatalog:
    """The cache of each provider's model list."""

    def __init__(self, timeout: float = LIST_TIMEOUT) -> None:
        self.timeout = timeout
        self._lists: dict[str, tuple[float, list[dict[str, Any]]]] = {}
        """Provider name → (monotonic expiry, its model entries)."""
        self._locks: dict[str, asyncio.Lock] = {}

    async def llm_configs(self, providers: Sequence[tuple[ConfiguredProvider, Adapter]]) -> list[LLMConfig]:
        listed = await asyncio.gather(*(self._entries(provider, adapter) for provider, adapter in providers))
        return [
            llm_config(
                provider.spec,
                entry["id"],
                prefix=provider.listed_as,
                endpoint=provider.base_url,
                context_window=_window(entry),
            )
            for (provider, _), entries in zip(providers, listed)
            for entry in entries
            if _is_chat(provider, entry["id"])
        ]

    async def embedding_configs(self, providers: Sequence[tuple[ConfiguredProvider, Adapter]]) -> list[EmbeddingConfig]:
        listed = await asyncio.gather(*(self._entries(provider, adapter) for provider, adapter in providers))
        configs: dict[str, EmbeddingConfig] = {}
        for (provider, _), entries in zip(providers, listed):
            if provider.spec.name == "openai":
                for model in OPENAI_EMBEDDINGS:
                    config = embedding_config(provider.spec, model, prefix="openai", endpoint=provider.base_url)
                    configs[config.handle] = config
            for entry in entries:
                if _is_embedding(entry["id"]):
                    config = embedding_config(
                        provider.spec, entry["id"], prefix=provider.listed_as, endpoint=provider.base_url
                    )
                    configs.setdefault(config.handle, config)
        return list(configs.values())

    async def _entries(self, provider: ConfiguredProvider, adapter: Adapter) -> list[dict[str, Any]]:
        lock = self._locks.setdefault(provider.name, asyncio.Lock())
        async with lock:
            cached = self._lists.get(provider.name)
            if cached and cached[0] > time.monotonic():
                return cached[1]
            try:
                async with asyncio.timeout(self.timeout):
                    entries = [entry for entry in await adapter.list_models(self.timeout) if entry.get("id")]
                ttl = LISTED_TTL
            except (LLMError, TimeoutError) as exc:
                logger.warning(
                    "cannot list the models of %s, listing none for now: %s", provider.name, exc or "timeout"
                )
                entries, ttl = [], FAILED_TTL
            self._lists[provider.name] = (time.monotonic() + ttl, entries)
            return entries
