"""Servers sharing one Docker engine never remove each other's containers.

Found by attacking a running server: a second toolhub's start-up removed every container labelled with the fixed
owner "toolhub", busy ones of the first server included, and the first server's calls failed. Now each server labels
its containers with its own instance id, and removes at start-up only leftovers of that id that no live server uses.

A busy container is made with a tool that says it started (a file in its working directory) and then waits until
the test opens a gate (a file the test puts in the container's /tmp), so nothing here depends on timing.
"""

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests.sandbox_docker.conftest import containers_of, engine  # noqa: F401  (a fixture)
from tests.support.server import ServerProcess
from toolhub.sandbox.docker.container import OWNER_LABEL

if TYPE_CHECKING:
    from docker import DockerClient

DOCKER = {"TOOLHUB_SANDBOX": "docker"}
STARTED, GATE = "toolhub-started", "/tmp/toolhub-gate"
HOSTNAME = '''def hostname() -> str:
    """Which container ran this: a container's hostname is its short id."""
    import socket
    return socket.gethostname()
'''
GATED = f'''def gated() -> str:
    """Say that the call started, then wait for the gate; which container ran it."""
    import os, socket, time
    open({STARTED!r}, "w").close()
    deadline = time.monotonic() + 50
    while not os.path.exists({GATE!r}):
        if time.monotonic() > deadline:
            return "the gate never opened"
        time.sleep(0.05)
    return socket.gethostname()
'''


@pytest.fixture
def backend() -> str:
    """The engine is what these servers share; one storage backend is enough."""
    return "sqlite"


def run(server: ServerProcess, source: str) -> dict[str, Any]:
    """Run `source` on `server` (in Docker: the servers here default to it) and return the result."""
    with httpx.Client(base_url=server.base_url, timeout=600) as http:  # a first call may build the image
        response = http.post("/v1/tools/run", json={"source_code": source, "args": {}})
    assert response.status_code == 200, response.text
    return response.json()


def instance_id(server: ServerProcess) -> str:
    return (server.home / "instance-id").read_text().strip()


def until(condition: Callable[[], Any], timeout_s: float = 600.0) -> Any:
    """Poll observable state until `condition` returns something true, and return that."""
    deadline = time.monotonic() + timeout_s
    while not (found := condition()):
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.1)
    return found


def exec_in(engine: "DockerClient", container_id: str, script: str) -> int:
    """Run `script` as root in the container; its exit code."""
    run_id = engine.api.exec_create(container_id, ["sh", "-c", script])["Id"]
    engine.api.exec_start(run_id)
    return engine.api.exec_inspect(run_id)["ExitCode"]


def busy_container(engine: "DockerClient", owner: str) -> str | None:
    """The container of `owner` that a gated call runs in, once the call has started."""
    for container_id in containers_of(engine, owner):
        try:
            if exec_in(engine, container_id, f"ls /tmp/*/{STARTED}") == 0:
                return container_id
        except Exception:  # noqa: BLE001  (a container going away meanwhile)
            continue
    return None


def test_a_second_server_leaves_the_first_ones_busy_container_alone(make_server, engine: "DockerClient") -> None:
    first = make_server(**DOCKER)
    with ThreadPoolExecutor(1) as pool:
        call = pool.submit(run, first, GATED)
        busy = until(lambda: busy_container(engine, instance_id(first)))

        second = make_server(**DOCKER)
        assert run(second, HOSTNAME)["status"] == "success"  # its start-up clean-up is over before its first call
        assert instance_id(second) != instance_id(first)
        assert busy in containers_of(engine, instance_id(first))

        assert exec_in(engine, busy, f"touch {GATE}") == 0
        result = call.result(timeout=120)
    assert result["status"] == "success", result
    assert busy.startswith(result["tool_return"])
    assert busy in containers_of(engine, instance_id(first))  # back in its pool, warm


def test_a_second_server_in_the_same_home_leaves_the_containers_of_the_shared_id_alone(
    make_server, engine: "DockerClient"
) -> None:
    first = make_server(**DOCKER)
    with ThreadPoolExecutor(1) as pool:
        call = pool.submit(run, first, GATED)
        busy = until(lambda: busy_container(engine, instance_id(first)))

        twin = make_server(home=first.home, database_url=first.env["TOOLHUB_DATABASE_URL"], **DOCKER)
        assert run(twin, HOSTNAME)["status"] == "success"
        assert "another live server with this instance id" in twin.log()
        assert busy in containers_of(engine, instance_id(first))

        assert exec_in(engine, busy, f"touch {GATE}") == 0
        result = call.result(timeout=120)
    assert result["status"] == "success", result
    assert busy.startswith(result["tool_return"])


def test_a_restarted_server_removes_its_own_leftovers_and_nothing_else(make_server, engine: "DockerClient") -> None:
    first, second = make_server(**DOCKER), make_server(**DOCKER)
    image = engine.api.inspect_container(_container_of(first, engine))["Config"]["Image"]
    _container_of(second, engine)
    others = containers_of(engine, instance_id(second))
    first.kill()
    stuck = [  # what a crash can leave that does not go away by itself: never started, or hung
        engine.api.create_container(image, ["true"], labels={OWNER_LABEL: instance_id(first)})["Id"],
        engine.api.create_container(image, ["sleep", "1000"], labels={OWNER_LABEL: instance_id(first)})["Id"],
    ]
    engine.api.start(stuck[1])
    try:
        first.start()
        assert run(first, HOSTNAME)["status"] == "success"  # the clean-up is over before the first call runs
        assert not set(stuck) & set(containers_of(engine, instance_id(first)))
        assert set(others) <= set(containers_of(engine, instance_id(second)))
    finally:
        for container_id in stuck:
            if container_id in containers_of(engine, instance_id(first)):
                engine.api.remove_container(container_id, force=True)


def _container_of(server: ServerProcess, engine: "DockerClient") -> str:
    """Have `server` run a call, and return the container that ran it."""
    result = run(server, HOSTNAME)
    assert result["status"] == "success", result
    (container_id,) = [c for c in containers_of(engine, instance_id(server)) if c.startswith(result["tool_return"])]
    return container_id
