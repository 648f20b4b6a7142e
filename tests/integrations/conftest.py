"""Local E2B and Tavily servers for the cloud integrations, with the endpoints set as a user would set them."""

from collections.abc import Iterator

import pytest

from tests.fakes.e2b_server import FakeE2B
from tests.fakes.tavily_server import FakeTavily


@pytest.fixture(scope="session")
def e2b_server() -> Iterator[FakeE2B]:
    fake = FakeE2B().start()
    yield fake
    fake.stop()


@pytest.fixture(scope="session")
def tavily_server() -> Iterator[FakeTavily]:
    fake = FakeTavily().start()
    yield fake
    fake.stop()


@pytest.fixture
def e2b(e2b_server: FakeE2B, monkeypatch: pytest.MonkeyPatch) -> FakeE2B:
    """The fake E2B as the endpoint, no key in the environment, and no sandboxes left from other tests."""
    monkeypatch.setenv("E2B_API_URL", e2b_server.url)
    monkeypatch.setenv("E2B_SANDBOX_URL", e2b_server.url)
    monkeypatch.delenv("E2B_API_KEY", raising=False)
    e2b_server.sandboxes.clear()
    return e2b_server


@pytest.fixture
def tavily(tavily_server: FakeTavily, monkeypatch: pytest.MonkeyPatch) -> FakeTavily:
    monkeypatch.setenv("TAVILY_BASE_URL", tavily_server.url)
    monkeypatch.delenv("TAVILY_API_KEY", raising=False)
    tavily_server.requests.clear()
    tavily_server.auth.clear()
    tavily_server.pages.clear()
    return tavily_server
