"""Providers from the environment: which are configured, which adapter a handle gets, and what is listed."""

import time
from collections.abc import Iterator

import pytest

from tests.fakes.anthropic_server import FakeAnthropic
from tests.fakes.llm_server import FakeLLM, text
from tests.fakes.silent import silent_endpoint
from toolhub.agent.llm.anthropic_adapter import AnthropicClient
from toolhub.agent.llm.base import LLMNotConfiguredError, LLMRequest
from toolhub.agent.llm.openai_compat import OpenAICompatClient
from toolhub.agent.llm.providers import Providers
from toolhub.errors import InvalidInputError

USER = ({"role": "user", "content": "hi"},)


@pytest.fixture(scope="module")
def anthropic_fake() -> Iterator[FakeAnthropic]:
    fake = FakeAnthropic().start()
    yield fake
    fake.stop()


@pytest.fixture
def keyless_llm() -> Iterator[FakeLLM]:
    """A local server (Ollama, vLLM) that a provider without a key reaches: it accepts only the placeholder."""
    fake = FakeLLM(api_key="none").start()
    yield fake
    fake.stop()


def proxy_env(llm: FakeLLM) -> dict[str, str]:
    return {"OPENAI_API_KEY": llm.api_key, "OPENAI_BASE_URL": llm.url}


async def test_a_proxy_answers_to_both_openai_and_openai_proxy_handles(llm: FakeLLM) -> None:
    providers = Providers.from_env(proxy_env(llm))
    proxied, model = providers.client_for("openai-proxy/fake-model")
    plain, same_model = providers.client_for("openai/fake-model")
    assert proxied is plain and model == same_model == "fake-model"
    llm.script(text("hello"))
    answer = await proxied.complete(LLMRequest(model=model, messages=USER))
    await providers.aclose()
    assert answer.content == "hello" and llm.requests[0]["model"] == "fake-model"


async def test_model_part_of_a_handle_may_hold_slashes(llm: FakeLLM) -> None:
    providers = Providers.from_env({"OPENROUTER_API_KEY": llm.api_key, "OPENROUTER_BASE_URL": llm.url})
    client, model = providers.client_for("openrouter/meta-llama/llama-3.1-8b:free")
    await client.complete(LLMRequest(model=model, messages=USER))
    await providers.aclose()
    assert model == "meta-llama/llama-3.1-8b:free" and llm.requests[0]["model"] == model


@pytest.mark.parametrize("handle", ["", "gpt-4o", "/gpt-4o", "openai/", "openai/ gpt-4o", "openai/gpt-4o "])
def test_malformed_handles_are_invalid_input(handle: str) -> None:
    with pytest.raises(InvalidInputError, match="provider/model"):
        Providers.from_env({}).client_for(handle)


def test_unknown_provider_is_invalid_input_naming_the_known_ones() -> None:
    providers = Providers.from_env({})
    with pytest.raises(InvalidInputError, match="'acme'.*known providers: openai, anthropic"):
        providers.client_for("acme/model-1")
    assert not providers.known("acme")
    assert all(providers.known(name) for name in ("openai", "openai-proxy", "anthropic", "ollama", "letta"))


@pytest.mark.parametrize(
    ("handle", "hint"),
    [
        ("openai/gpt-4o-mini", "set OPENAI_API_KEY (and OPENAI_API_BASE or OPENAI_BASE_URL"),
        ("anthropic/claude-3-5-sonnet", "set ANTHROPIC_API_KEY"),
        ("groq/llama-3.1-8b-instant", "set GROQ_API_KEY"),
        ("ollama/llama3.1:8b", "set OLLAMA_BASE_URL"),
        ("vllm/qwen", "set VLLM_API_BASE"),
        ("lmstudio_openai/qwen", "set LMSTUDIO_BASE_URL"),
        ("letta/letta-free", "Letta's hosted service"),
    ],
)
def test_unconfigured_provider_says_which_variable_to_set(handle: str, hint: str) -> None:
    providers = Providers.from_env({"XAI_API_KEY": "xai-key"})
    with pytest.raises(LLMNotConfiguredError) as missing:
        providers.client_for(handle)
    assert hint in str(missing.value) and "configured providers: xai" in str(missing.value)
    assert missing.value.code == "llm_not_configured"


def test_only_the_variables_set_configure_providers() -> None:
    env = {
        "OPENAI_API_KEY": "sk-1",
        "OLLAMA_BASE_URL": "http://localhost:11434",
        "GROQ_API_KEY": "  ",
        "ANTHROPIC_BASE_URL": "http://localhost:1",
    }
    assert Providers.from_env(env).configured == ("openai", "ollama")
    assert Providers.from_env({}).configured == ()


@pytest.mark.parametrize(
    ("env", "handle", "endpoint"),
    [
        ({"OLLAMA_BASE_URL": "http://localhost:11434"}, "ollama/llama3", "http://localhost:11434/v1"),
        ({"VLLM_API_BASE": "http://gpu:8000/v1/"}, "vllm/qwen", "http://gpu:8000/v1"),
        ({"LMSTIUDIO_BASE_URL": "http://localhost:1234"}, "lmstudio_openai/qwen", "http://localhost:1234/v1"),
        (
            {"OPENAI_API_KEY": "k", "OPENAI_API_BASE": "https://openrouter.ai/api/v1"},
            "openai/x",
            "https://openrouter.ai/api/v1",
        ),
        ({"OPENAI_API_KEY": "k"}, "openai/gpt-4o", "https://api.openai.com/v1"),
        ({"ANTHROPIC_API_KEY": "k", "ANTHROPIC_BASE_URL": "http://proxy:9/v1"}, "anthropic/claude", "http://proxy:9"),
        ({"GROQ_API_KEY": "k"}, "groq/llama", "https://api.groq.com/openai/v1"),
    ],
)
def test_endpoints_are_normalised(env: dict[str, str], handle: str, endpoint: str) -> None:
    client, _ = Providers.from_env(env).client_for(handle)
    assert isinstance(client, OpenAICompatClient | AnthropicClient) and client.base_url == endpoint


async def test_local_servers_never_get_the_openai_key(llm: FakeLLM, keyless_llm: FakeLLM) -> None:
    base = keyless_llm.url.removesuffix("/v1")
    providers = Providers.from_env({"OPENAI_API_KEY": llm.api_key, "OLLAMA_BASE_URL": base, "VLLM_API_BASE": base})
    for handle in ("ollama/llama3.1:8b", "vllm/qwen"):
        client, model = providers.client_for(handle)
        assert (await client.complete(LLMRequest(model=model, messages=USER))).content == "OK"
    await providers.aclose()
    assert [request["model"] for request in keyless_llm.requests] == ["llama3.1:8b", "qwen"]


async def test_anthropic_handles_get_the_anthropic_adapter(anthropic_fake: FakeAnthropic) -> None:
    anthropic_fake.reset()
    providers = Providers.from_env(
        {"ANTHROPIC_API_KEY": anthropic_fake.api_key, "ANTHROPIC_BASE_URL": anthropic_fake.url}
    )
    client, model = providers.client_for("anthropic/claude-fake-1")
    answer = await client.complete(LLMRequest(model=model, messages=USER))
    listed = await providers.list_llm_models()
    await providers.aclose()
    assert isinstance(client, AnthropicClient) and answer.content == "OK"
    assert [(m["handle"], m["context_window"], m["model_endpoint_type"]) for m in listed] == [
        ("anthropic/claude-fake-1", 200_000, "anthropic"),
        ("anthropic/claude-fake-2", 200_000, "anthropic"),
    ]
    assert await Providers.from_env({"ANTHROPIC_API_KEY": "k"}).list_embedding_models() == []


async def test_listing_a_proxy(llm: FakeLLM) -> None:
    providers = Providers.from_env(proxy_env(llm))
    models = await providers.list_llm_models()
    embeddings = await providers.list_embedding_models()
    await providers.aclose()
    [model] = models
    assert model["handle"] == "openai-proxy/fake-model" and model["model"] == "fake-model"
    assert (model["provider_name"], model["provider_type"], model["model_endpoint"]) == ("openai", "openai", llm.url)
    assert model["model_type"] == "llm" and model["context_window"] == model["max_context_window"] == 30_000
    assert [e["handle"] for e in embeddings] == [
        "openai/text-embedding-3-large",
        "openai/text-embedding-3-small",
        "openai/text-embedding-ada-002",
        "openai-proxy/fake-embedding",
    ]
    assert all(e["embedding_endpoint"] == llm.url and e["model_type"] == "embedding" for e in embeddings)


async def test_model_lists_are_asked_once_and_filtered(llm: FakeLLM) -> None:
    providers = Providers.from_env(proxy_env(llm))
    everything = await providers.list_llm_models()
    assert await providers.list_llm_models(provider_name="openai") == everything
    assert await providers.list_llm_models(provider_type="openai", provider_category=["base"]) == everything
    assert await providers.list_llm_models(provider_name="ollama") == []
    assert await providers.list_llm_models(provider_category=["byok"]) == []
    await providers.list_embedding_models()
    await providers.aclose()
    assert llm.model_lists == 1


async def test_a_provider_that_hangs_is_skipped_quickly(llm: FakeLLM) -> None:
    with silent_endpoint() as hung:
        providers = Providers.from_env({**proxy_env(llm), "OLLAMA_BASE_URL": hung}, list_timeout=0.3)
        started = time.monotonic()
        first = await providers.list_llm_models()
        first_took = time.monotonic() - started
        started = time.monotonic()
        again = await providers.list_llm_models()
        again_took = time.monotonic() - started
        await providers.aclose()
    assert [m["handle"] for m in first] == [m["handle"] for m in again] == ["openai-proxy/fake-model"]
    assert 0.25 <= first_took < 2.0, "the hung provider must cost one short timeout, no more"
    assert again_took < 0.2, "and it is not asked again at once"


async def test_a_provider_that_refuses_the_key_lists_nothing(llm: FakeLLM) -> None:
    providers = Providers.from_env({"OPENAI_API_KEY": "sk-wrong", "OPENAI_BASE_URL": llm.url})
    assert await providers.list_llm_models() == []
    await providers.aclose()
