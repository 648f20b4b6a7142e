"""Shared fixtures: real servers per storage backend (SQLite and PostgreSQL)."""

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.fakes.llm_server import FakeLLM
from tests.support.server import BACKENDS, ServerProcess, fresh_database_url


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="session")
def server(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server shared by the tests of one backend; tests use unique names so they do not collide."""
    home = tmp_path_factory.mktemp(f"home-{backend}")
    proc = ServerProcess(home, fresh_database_url(backend, home)).start()
    yield proc
    proc.stop()


@pytest.fixture
def client(server: ServerProcess) -> Iterator[httpx.Client]:
    with server.client() as http:
        yield http


@pytest.fixture
def make_server(backend: str, tmp_path: Path) -> Iterator[Callable[..., ServerProcess]]:
    """Start dedicated servers (own home, own empty database) with extra settings; all stopped afterwards."""
    started: list[ServerProcess] = []

    def make(home: Path | None = None, database_url: str | None = None, **settings: str) -> ServerProcess:
        home = home or tmp_path / f"home{len(started)}"
        home.mkdir(parents=True, exist_ok=True)
        proc = ServerProcess(home, database_url or fresh_database_url(backend, home), **settings)
        started.append(proc)
        return proc.start()

    yield make
    for proc in started:
        proc.stop()


@pytest.fixture(scope="session")
def fake_llm() -> Iterator[FakeLLM]:
    """One fake OpenAI-compatible LLM server for the whole session; use `llm` for a clean one per test."""
    fake = FakeLLM().start()
    yield fake
    fake.stop()


@pytest.fixture
def llm(fake_llm: FakeLLM) -> FakeLLM:
    """The session's fake LLM with an empty script and no recorded requests."""
    fake_llm.reset()
    return fake_llm
