"""The providers toolhub can talk to, the environment variables that enable them (the names Letta's provider
docs give), and how a model handle names one.

A handle is `provider/model`; the model part may hold slashes itself (`openrouter/meta-llama/llama-3.1-8b`,
`ollama/thewindmom/hermes-3:latest`). With `OPENAI_API_BASE`/`OPENAI_BASE_URL` pointing anywhere but OpenAI,
Letta lists that endpoint's models as `openai-proxy/<id>` and then refuses `openai/<id>`; here both prefixes name
the same provider.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Union

from toolhub.agent.llm.openai_compat import OpenAICompatClient
from toolhub.errors import InvalidInputError

if TYPE_CHECKING:
    from toolhub.agent.llm.anthropic_adapter import AnthropicClient

OPENAI_URL = "https://api.openai.com/v1"
PROXY_NAME = "openai-proxy"
"""How Letta names the OpenAI provider when its base URL is not OpenAI's."""
NO_KEY = "none"
"""Sent as the key to local servers that need none: the SDK insists on one, and must never fall back to the
`OPENAI_API_KEY` of the server's own environment."""

Adapter = Union[OpenAICompatClient, "AnthropicClient"]


@dataclass(frozen=True, kw_only=True)
class ProviderSpec:
    """What toolhub knows about one provider, configured or not."""

    name: str
    """The handle prefix and Letta's `provider_name`."""
    api: Literal["openai", "anthropic"]
    """Which adapter speaks to it."""
    provider_type: str
    endpoint_type: str
    """Letta's `model_endpoint_type` / `embedding_endpoint_type`."""
    key_var: str | None
    """The variable holding its API key; None for local servers, which the URL variable enables."""
    url_vars: tuple[str, ...] = ()
    """Variables that may hold its base URL, first set wins."""
    default_url: str | None = None
    url_suffix: str = ""
    """Appended when the configured URL lacks it (Letta's docs give Ollama, vLLM and LM Studio without `/v1`)."""
    context_window: int | None = None
    """The window its models have when the model list does not say; None: Letta's default."""
    max_tokens: int = 4096

    def how_to_enable(self) -> str:
        if self.key_var and self.url_vars:
            return f"set {self.key_var} (and {' or '.join(self.url_vars)} for another endpoint)"
        if self.key_var:
            return f"set {self.key_var}"
        if self.url_vars:
            return f"set {self.url_vars[0]}"
        return "it is Letta's hosted service, which this server does not call; choose a configured provider"


def _hosted(name: str, key_var: str, url: str) -> ProviderSpec:
    """An OpenAI-compatible hosted service enabled by its key; `<NAME>_BASE_URL` points it elsewhere."""
    return ProviderSpec(
        name=name,
        api="openai",
        provider_type=name,
        endpoint_type=name,
        key_var=key_var,
        url_vars=(f"{name.upper()}_BASE_URL",),
        default_url=url,
    )


def _local(name: str, url_vars: tuple[str, ...], endpoint_type: str) -> ProviderSpec:
    """An OpenAI-compatible server on the user's machine, enabled by its URL, without a key."""
    return ProviderSpec(
        name=name,
        api="openai",
        provider_type=name,
        endpoint_type=endpoint_type,
        key_var=None,
        url_vars=url_vars,
        url_suffix="/v1",
    )


SPECS: tuple[ProviderSpec, ...] = (
    ProviderSpec(
        name="openai",
        api="openai",
        provider_type="openai",
        endpoint_type="openai",
        key_var="OPENAI_API_KEY",
        url_vars=("OPENAI_API_BASE", "OPENAI_BASE_URL"),
        default_url=OPENAI_URL,
        max_tokens=16384,
    ),
    ProviderSpec(
        name="anthropic",
        api="anthropic",
        provider_type="anthropic",
        endpoint_type="anthropic",
        key_var="ANTHROPIC_API_KEY",
        url_vars=("ANTHROPIC_BASE_URL",),
        default_url="https://api.anthropic.com",
        context_window=200_000,
        max_tokens=8192,
    ),
    _local("ollama", ("OLLAMA_BASE_URL",), "ollama"),
    _local("vllm", ("VLLM_API_BASE",), "vllm"),
    # The docs' own `letta server` example spells it LMSTIUDIO_BASE_URL; users who copied it are served too.
    _local("lmstudio_openai", ("LMSTUDIO_BASE_URL", "LMSTIUDIO_BASE_URL"), "openai"),
    _hosted("openrouter", "OPENROUTER_API_KEY", "https://openrouter.ai/api/v1"),
    _hosted("together", "TOGETHER_API_KEY", "https://api.together.xyz/v1"),
    _hosted("groq", "GROQ_API_KEY", "https://api.groq.com/openai/v1"),
    _hosted("deepseek", "DEEPSEEK_API_KEY", "https://api.deepseek.com/v1"),
    _hosted("xai", "XAI_API_KEY", "https://api.x.ai/v1"),
    ProviderSpec(
        name="letta",
        api="openai",
        provider_type="letta",
        endpoint_type="openai",
        key_var=None,
        default_url="https://inference.letta.com/v1/",
    ),
)
"""Every provider a handle may name, in Letta's listing order. `letta` (Letta's hosted `letta-free`) is known so
that agents made with Letta's test handles are accepted, but it is never configured."""
BY_NAME = {spec.name: spec for spec in SPECS}


@dataclass(frozen=True, kw_only=True)
class ConfiguredProvider:
    spec: ProviderSpec
    base_url: str
    api_key: str

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def official_openai(self) -> bool:
        return self.spec.name == "openai" and self.base_url == OPENAI_URL

    @property
    def listed_as(self) -> str:
        """The handle prefix its models are listed under (`openai-proxy` for an OpenAI-compatible endpoint)."""
        return PROXY_NAME if self.spec.name == "openai" and not self.official_openai else self.spec.name

    def adapter(self) -> Adapter:
        if self.spec.api == "anthropic":
            # Imported here: the anthropic SDK takes about a second to import, a cost only its users should pay.
            from toolhub.agent.llm.anthropic_adapter import AnthropicClient

            return AnthropicClient(api_key=self.api_key, base_url=self.base_url, provider=self.name)
        return OpenAICompatClient(
            provider=self.listed_as,
            base_url=self.base_url,
            api_key=self.api_key,
            max_tokens_param="max_completion_tokens" if self.official_openai else "max_tokens",
        )


def configure(spec: ProviderSpec, env: Mapping[str, str]) -> ConfiguredProvider | None:
    """`spec` as `env` configures it, or None when its key (or, for a local server, its URL) is not set."""
    url = next((env[var].strip() for var in spec.url_vars if env.get(var, "").strip()), None)
    key = env.get(spec.key_var, "").strip() if spec.key_var else (NO_KEY if url else "")
    if not key:
        return None
    base_url = (url or spec.default_url or "").rstrip("/")
    if spec.url_suffix and not base_url.endswith(spec.url_suffix):
        base_url += spec.url_suffix
    if spec.api == "anthropic":
        base_url = base_url.removesuffix("/v1")  # the SDK adds it to every path
    return ConfiguredProvider(spec=spec, base_url=base_url, api_key=key)


def split_handle(handle: str) -> tuple[ProviderSpec, str]:
    """`provider/model` → (the provider's spec, the model).

    Raises:
        InvalidInputError: the handle is malformed or names no known provider.
    """
    prefix, _, model = handle.partition("/")
    if not prefix or not model or model != model.strip():
        raise InvalidInputError(f"Model handle {handle!r} is not of the form 'provider/model'")
    spec = BY_NAME.get("openai" if prefix == PROXY_NAME else prefix)
    if spec is None:
        known = ", ".join([*BY_NAME, PROXY_NAME])
        raise InvalidInputError(f"Unknown provider {prefix!r} in model handle {handle!r}; known providers: {known}")
    return spec, model
