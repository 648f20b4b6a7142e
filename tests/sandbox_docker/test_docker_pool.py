"""The pool of warm containers: concurrency, recycling, replacement of dead containers, waiting, draining.

A container's hostname is its short id, so a tool that returns its hostname says which container ran it.
"""

import asyncio
import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING

from tests.sandbox.helpers import tool
from tests.sandbox_docker.conftest import containers_of, unique_owner
from toolhub.sandbox.config_models import DockerSandboxConfig
from toolhub.sandbox.docker.sandbox import DockerSandbox

if TYPE_CHECKING:
    from docker import DockerClient

HOST = tool("def host() -> str:\n    import socket\n    return socket.gethostname()")
SLOW_HOST = tool("def host() -> str:\n    import socket, time\n    time.sleep(0.3)\n    return socket.gethostname()")
HANG = tool("def hang():\n    import time\n    time.sleep(60)")


async def hosts(backend: DockerSandbox, count: int, config: DockerSandboxConfig | None = None) -> list[str]:
    """Hostnames of `count` calls made one after another."""
    names = []
    for _ in range(count):
        result = await backend.run(HOST, config)
        assert result.status == "success", result.error
        names.append(result.func_return)
    return names


async def until(condition: Callable[[], object], timeout_s: float = 30.0) -> None:
    """Wait for observable state (not for time): poll `condition` until it holds."""
    async with asyncio.timeout(timeout_s):
        while not condition():
            await asyncio.sleep(0.05)


async def test_twenty_calls_at_once(make_docker) -> None:
    backend: DockerSandbox = make_docker()
    config = DockerSandboxConfig(pool_size=4)
    results = await asyncio.gather(*(backend.run(SLOW_HOST, config) for _ in range(20)))
    assert {r.status for r in results} == {"success"}
    assert 1 < len({r.func_return for r in results}) <= 4  # they shared the pool, which grew to its size


async def test_a_container_is_reused_for_clean_calls(make_docker) -> None:
    backend: DockerSandbox = make_docker(warm_containers=0)
    assert len(set(await hosts(backend, 5))) == 1


async def test_a_container_is_recycled_after_max_calls(make_docker) -> None:
    backend: DockerSandbox = make_docker(warm_containers=0, max_calls_per_container=3)
    names = await hosts(backend, 7)
    assert names[0] == names[1] == names[2] != names[3] == names[4] == names[5] != names[6]


async def test_a_container_is_recycled_after_max_age(make_docker) -> None:
    backend: DockerSandbox = make_docker(warm_containers=0, max_container_age_s=0)
    first, second = await hosts(backend, 2)
    assert first != second


async def test_a_container_is_recycled_after_a_failed_call(make_docker) -> None:
    backend: DockerSandbox = make_docker(warm_containers=0)
    (before,) = await hosts(backend, 1)
    crash = await backend.run(tool("def crash():\n    import os\n    os._exit(3)"))
    assert crash.status == "error"
    (after,) = await hosts(backend, 1)
    assert before != after


async def test_a_killed_idle_container_is_replaced(make_docker, engine: "DockerClient") -> None:
    owner = unique_owner()
    backend: DockerSandbox = make_docker(owner=owner)
    await hosts(backend, 1)
    await until(lambda: len(idle(backend)) == 2)  # the one that ran the call, and the warm spare
    killed = set(idle(backend))
    for container_id in killed:
        engine.api.kill(container_id)
    await until(lambda: idle(backend) and not killed & set(idle(backend)))
    (after,) = await hosts(backend, 1)
    assert not any(container_id.startswith(after) for container_id in killed)
    assert not killed & set(containers_of(engine, owner))


async def test_a_container_killed_during_a_call_fails_only_that_call(make_docker, engine: "DockerClient") -> None:
    backend: DockerSandbox = make_docker(warm_containers=0)
    call = asyncio.create_task(backend.run(HANG))
    await until(lambda: busy(backend))
    (victim,) = busy(backend)
    engine.api.kill(victim)
    lost = await call
    assert lost.error.startswith("Error executing function hang: WorkerError: the sandbox worker stopped unexpectedly")
    (after,) = await hosts(backend, 1)
    assert not victim.startswith(after)


async def test_tenants_never_share_a_container(make_docker) -> None:
    backend: DockerSandbox = make_docker(warm_containers=0)
    first, second = (dataclasses.replace(HOST, tenant=tenant) for tenant in ("org-a", "org-b"))
    names = [(await backend.run(call)).func_return for call in (first, second, first, second)]
    assert names[0] == names[2] != names[1] == names[3]  # each tenant reuses its own container, never the other's
    assert sorted(pool["tenant"] for pool in backend.stats()["pools"]) == ["org-a", "org-b"]


async def test_a_full_pool_makes_calls_wait_then_gives_up(make_docker) -> None:
    backend: DockerSandbox = make_docker(pool_wait_s=0.5)
    config = DockerSandboxConfig(pool_size=1)
    hanging = asyncio.create_task(backend.run(HANG, config))
    await until(lambda: busy(backend))
    refused = await backend.run(HOST, config)
    assert refused.error == (
        "Error executing function host: PoolExhaustedError: all 1 sandbox containers stayed busy for 0.5 seconds"
    )
    hanging.cancel()
    await asyncio.gather(hanging, return_exceptions=True)


async def test_a_waiting_call_gets_the_container_that_comes_back(make_docker) -> None:
    backend: DockerSandbox = make_docker()
    config = DockerSandboxConfig(pool_size=1)
    results = await asyncio.gather(*(backend.run(SLOW_HOST, config) for _ in range(3)))
    assert len({r.func_return for r in results}) == 1


async def test_close_removes_every_container(make_docker, engine: "DockerClient") -> None:
    owner = unique_owner()
    backend: DockerSandbox = make_docker(owner=owner)
    hanging = asyncio.create_task(backend.run(HANG))
    await asyncio.gather(*(backend.run(SLOW_HOST, DockerSandboxConfig(pool_size=3)) for _ in range(3)))
    assert containers_of(engine, owner)
    await backend.close()
    assert containers_of(engine, owner) == []
    assert (await hanging).status == "error"
    after = await backend.run(HOST)
    assert after.error == "Error executing function host: SandboxError: the sandbox is closed"


def idle(backend: DockerSandbox) -> list[str]:
    return [container for pool in backend.stats()["pools"] for container in pool["idle"]]


def busy(backend: DockerSandbox) -> list[str]:
    return [container for pool in backend.stats()["pools"] for container in pool["busy"]]
