"""Fixtures for the sandbox behaviour suite: every test that takes `sandbox` runs against each backend."""

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from toolhub.sandbox.base import Sandbox
from toolhub.sandbox.local.sandbox import LocalSandbox

SANDBOX_BACKENDS = ("local",)


@pytest.fixture(scope="session")
def venv_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One virtualenv cache for the whole run, as TOOLHUB_HOME/venvs is for a server."""
    return tmp_path_factory.mktemp("toolhub-home") / "venvs"


@pytest.fixture(scope="session", params=SANDBOX_BACKENDS)
async def sandbox(request: pytest.FixtureRequest, venv_cache: Path) -> AsyncIterator[Sandbox]:
    """A backend shared by the suite, as a server shares one; tests must not depend on each other's calls."""
    backend = make_backend(request.param, venv_cache)
    yield backend
    await backend.close()


@pytest.fixture
async def make_local(venv_cache: Path) -> AsyncIterator[Callable[..., LocalSandbox]]:
    """Dedicated local sandboxes with their own options; all closed after the test."""
    made: list[LocalSandbox] = []

    def make(**options: object) -> LocalSandbox:
        local = LocalSandbox(venv_cache, **options)
        made.append(local)
        return local

    yield make
    for local in made:
        await local.close()


def make_backend(name: str, venv_cache: Path) -> Sandbox:
    if name == "local":
        return LocalSandbox(venv_cache, confine=True)
    raise ValueError(f"unknown sandbox backend {name!r}")
