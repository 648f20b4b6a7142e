"""Fixtures for the Docker backend's tests: a real engine, real images and real containers.

The images are built once per engine (a debootstrap root takes about a minute the first time) and found again by
their content-hash labels in later sessions. Every sandbox made here has an owner of its own, so the tests can
find their containers by label, and a crashed test run leaves nothing that a later one would mistake for its own.
"""

import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from toolhub.sandbox.docker.sandbox import DockerOptions, DockerSandbox
from toolhub.sandbox.docker.container import OWNER_LABEL
from toolhub.sandbox.docker.engine import connect

if TYPE_CHECKING:
    from docker import DockerClient


@pytest.fixture(scope="session")
def engine() -> Iterator["DockerClient"]:
    """A client of the engine the sandboxes use, for looking at their containers from outside."""
    client = connect()
    yield client
    client.close()


@pytest.fixture(scope="session")
def docker_work_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("toolhub-docker")


@pytest.fixture(scope="session")
async def sandbox(docker_work_dir: Path) -> AsyncIterator[DockerSandbox]:
    """One Docker sandbox for the whole session, as a server has one; named `sandbox` for the shared suite."""
    backend = DockerSandbox(docker_work_dir, DockerOptions(owner=unique_owner()))
    await backend.prewarm()
    yield backend
    await backend.close()


@pytest.fixture
async def make_docker(docker_work_dir: Path) -> AsyncIterator[Callable[..., DockerSandbox]]:
    """Dedicated Docker sandboxes with their own options (and owner); all closed after the test."""
    made: list[DockerSandbox] = []

    def make(**options: object) -> DockerSandbox:
        options.setdefault("owner", unique_owner())
        backend = DockerSandbox(docker_work_dir, DockerOptions(**options))  # type: ignore[arg-type]
        made.append(backend)
        return backend

    yield make
    for backend in made:
        await backend.close()


def unique_owner() -> str:
    return f"toolhub-test-{uuid.uuid4().hex[:12]}"


def containers_of(engine: "DockerClient", owner: str) -> list[str]:
    """Ids of every container (running or not) labelled with `owner`."""
    return [c["Id"] for c in engine.api.containers(all=True, quiet=True, filters={"label": f"{OWNER_LABEL}={owner}"})]
