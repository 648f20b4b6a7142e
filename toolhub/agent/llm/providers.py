"""The LLM providers of one server: configured once from the environment at start-up, asked for an adapter by
model handle (`provider/model`), and listed for `/v1/models`.

Nothing here calls a provider except the two listings: creating an agent with any well-formed handle of a known
provider works offline, and a provider without a key is an error only when a message needs it.
"""

from collections.abc import Mapping, Sequence
from typing import Any

from toolhub.agent.llm.base import LLMClient, LLMNotConfiguredError
from toolhub.agent.llm.catalog import LIST_TIMEOUT, ModelCatalog
from toolhub.agent.llm.specs import BY_NAME, PROXY_NAME, SPECS, Adapter, ConfiguredProvider, configure, split_handle

__all__ = ["Providers"]


class Providers:
    """The configured providers, their adapters (one per provider, made on first use) and their models."""

    def __init__(self, configured: Sequence[ConfiguredProvider] = (), *, list_timeout: float = LIST_TIMEOUT) -> None:
        self._configured = {provider.name: provider for provider in configured}
        self._adapters: dict[str, Adapter] = {}
        self._catalog = ModelCatalog(list_timeout)

    @classmethod
    def from_env(cls, env: Mapping[str, str], *, list_timeout: float = LIST_TIMEOUT) -> "Providers":
        """Read the provider variables once; changing them needs a restart, as in Letta."""
        configured = [provider for spec in SPECS if (provider := configure(spec, env))]
        return cls(configured, list_timeout=list_timeout)

    @property
    def configured(self) -> tuple[str, ...]:
        """Names of the configured providers, in Letta's order."""
        return tuple(self._configured)

    def known(self, provider_name: str) -> bool:
        """Whether a handle may name this provider, configured or not (`openai-proxy` included)."""
        return provider_name in BY_NAME or provider_name == PROXY_NAME

    def client_for(self, handle: str) -> tuple[LLMClient, str]:
        """The adapter serving `handle`, and the provider's own name of the model.

        Raises:
            InvalidInputError: `handle` is malformed or names no known provider.
            LLMNotConfiguredError: the provider is known but has no key or endpoint here.
        """
        spec, model = split_handle(handle)
        provider = self._configured.get(spec.name)
        if provider is None:
            configured = ", ".join(self._configured) or "none"
            raise LLMNotConfiguredError(
                f"Model {handle!r} needs provider {spec.name!r}, which is not configured on this server: "
                f"{spec.how_to_enable()} (configured providers: {configured})"
            )
        return self._adapter(provider), model

    async def list_llm_models(
        self,
        *,
        provider_name: str | None = None,
        provider_type: str | None = None,
        provider_category: Sequence[str] = (),
    ) -> list[dict[str, Any]]:
        """The configured providers' chat models (Letta's LLMConfig), with Letta's filters."""
        configs = await self._catalog.llm_configs(self._listable())
        return [
            config.model_dump()
            for config in configs
            if provider_name in (None, config.provider_name)
            and provider_type in (None, config.provider_type)
            and (not provider_category or config.provider_category in provider_category)
        ]

    async def list_embedding_models(self) -> list[dict[str, Any]]:
        """The configured providers' embedding models (Letta's EmbeddingConfig)."""
        return [config.model_dump() for config in await self._catalog.embedding_configs(self._listable())]

    async def aclose(self) -> None:
        """Close the adapters' connection pools (at shutdown)."""
        adapters, self._adapters = list(self._adapters.values()), {}
        for adapter in adapters:
            await adapter.aclose()

    def _adapter(self, provider: ConfiguredProvider) -> Adapter:
        if provider.name not in self._adapters:
            self._adapters[provider.name] = provider.adapter()
        return self._adapters[provider.name]

    def _listable(self) -> list[tuple[ConfiguredProvider, Adapter]]:
        return [(provider, self._adapter(provider)) for provider in self._configured.values()]
