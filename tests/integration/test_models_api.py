"""`/v1/models` on a real server configured, through its environment, for the fake LLM providers."""

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from letta_client import Letta

from tests.fakes.anthropic_server import FakeAnthropic
from tests.fakes.llm_server import FakeLLM
from tests.support.sdk1 import run_letta1
from tests.support.server import ServerProcess, free_port, fresh_database_url

LLM_HANDLES = ["openai-proxy/fake-model", "anthropic/claude-fake-1", "anthropic/claude-fake-2"]
EMBEDDING_HANDLES = [
    "openai/text-embedding-3-large",
    "openai/text-embedding-3-small",
    "openai/text-embedding-ada-002",
    "openai-proxy/fake-embedding",
]


def start(home: Path, **settings: str) -> ServerProcess:
    return ServerProcess(home, fresh_database_url("sqlite", home), **settings).start()


@pytest.fixture(scope="module")
def fake_anthropic() -> Iterator[FakeAnthropic]:
    fake = FakeAnthropic().start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def configured(
    fake_llm: FakeLLM, fake_anthropic: FakeAnthropic, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    """A server with an OpenAI-compatible proxy, Anthropic, and an Ollama that is not running."""
    proc = start(
        tmp_path_factory.mktemp("models"),
        OPENAI_API_KEY=fake_llm.api_key,
        OPENAI_BASE_URL=fake_llm.url,
        ANTHROPIC_API_KEY=fake_anthropic.api_key,
        ANTHROPIC_BASE_URL=fake_anthropic.url,
        OLLAMA_BASE_URL=f"http://127.0.0.1:{free_port()}",
    )
    yield proc
    proc.stop()


@pytest.fixture
def http(configured: ServerProcess) -> Iterator[httpx.Client]:
    with configured.client() as client:
        yield client


def handles(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [model["handle"] for model in response.json()]


def test_configured_providers_models_are_listed(http: httpx.Client, fake_llm: FakeLLM) -> None:
    listed = http.get("/v1/models/")
    assert handles(listed) == LLM_HANDLES
    proxy = listed.json()[0]
    assert (proxy["provider_name"], proxy["model_type"], proxy["model_endpoint"]) == ("openai", "llm", fake_llm.url)
    assert handles(http.get("/v1/models")) == LLM_HANDLES


def test_filters(http: httpx.Client) -> None:
    assert handles(http.get("/v1/models/", params={"provider_name": "anthropic"})) == LLM_HANDLES[1:]
    assert handles(http.get("/v1/models/", params={"provider_type": "openai"})) == LLM_HANDLES[:1]
    assert handles(http.get("/v1/models/", params={"provider_category": ["base", "byok"]})) == LLM_HANDLES
    assert handles(http.get("/v1/models/", params={"provider_category": "byok"})) == []
    assert http.get("/v1/models/", params={"provider_category": "other"}).status_code == 422
    unknown = http.get("/v1/models/", params={"provider": "openai"})
    assert unknown.status_code == 400 and "'provider'" in unknown.text
    assert http.get("/v1/models/embedding", params={"limit": 1}).status_code == 400


def test_embedding_models_are_listed(http: httpx.Client) -> None:
    listed = http.get("/v1/models/embedding")
    assert handles(listed) == EMBEDDING_HANDLES
    assert all(model["model_type"] == "embedding" and model["embedding_dim"] > 0 for model in listed.json())


def test_sdk_0x_lists_models(configured: ServerProcess) -> None:
    client = Letta(base_url=configured.base_url)
    models = client.models.list()
    embeddings = client.embedding_models.list()
    assert [model.handle for model in models] == LLM_HANDLES
    assert models[1].context_window == 200_000 and models[1].model_endpoint_type == "anthropic"
    assert [model.handle for model in embeddings] == EMBEDDING_HANDLES


SDK1_SCRIPT = """
import json, sys
from letta_client import Letta

client = Letta(base_url=sys.argv[1], max_retries=0)
print(json.dumps({
    "models": [[m.handle, m.provider_type, m.model_endpoint_type] for m in client.models.list()],
    "anthropic": [m.handle for m in client.models.list(provider_name="anthropic")],
    "embeddings": [[m.handle, m.embedding_dim] for m in client.models.embeddings.list()],
}))
"""


def test_sdk_1x_lists_models(configured: ServerProcess) -> None:
    seen = run_letta1(SDK1_SCRIPT, configured.base_url)
    assert seen["models"] == [
        ["openai-proxy/fake-model", "openai", "openai"],
        ["anthropic/claude-fake-1", "anthropic", "anthropic"],
        ["anthropic/claude-fake-2", "anthropic", "anthropic"],
    ]
    assert seen["anthropic"] == LLM_HANDLES[1:]
    assert [handle for handle, _ in seen["embeddings"]] == EMBEDDING_HANDLES
    assert dict(seen["embeddings"])["openai/text-embedding-3-large"] == 3072


def test_nothing_configured_lists_nothing(tmp_path: Path) -> None:
    proc = start(tmp_path)
    try:
        with proc.client() as http:
            models, embeddings = http.get("/v1/models/"), http.get("/v1/models/embedding")
        seen = run_letta1(SDK1_SCRIPT, proc.base_url)
    finally:
        proc.stop()
    assert (models.json(), embeddings.json()) == ([], [])
    assert seen == {"models": [], "anthropic": [], "embeddings": []}
