"""A server that crashed leaves containers behind; the next start of a server with the same owner removes them,
and leaves other owners' containers alone, and those of a live server with the same owner too."""

import asyncio
import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from tests.sandbox_docker.conftest import containers_of, unique_owner
from toolhub.sandbox.docker.sandbox import DockerSandbox
from toolhub.sandbox.docker.container import OWNER_LABEL

if TYPE_CHECKING:
    from docker import DockerClient

CRASHING_SERVER = """
import asyncio, sys
from pathlib import Path
from toolhub.sandbox.docker.sandbox import DockerOptions, DockerSandbox

async def main() -> None:
    backend = DockerSandbox(Path(sys.argv[1]), DockerOptions(owner=sys.argv[2]))
    await backend.prewarm()
    print("ready", flush=True)
    await asyncio.Event().wait()

asyncio.run(main())
"""


async def test_a_restart_removes_what_a_crashed_server_left(
    make_docker, engine: "DockerClient", docker_work_dir: Path
) -> None:
    owner, neighbour = unique_owner(), unique_owner()
    image = await make_docker().build_images()
    server = await asyncio.create_subprocess_exec(
        sys.executable, "-c", CRASHING_SERVER, str(docker_work_dir), owner,
        stdout=asyncio.subprocess.PIPE, cwd=Path(__file__).parents[2],
    )  # fmt: skip
    assert server.stdout is not None
    assert await asyncio.wait_for(server.stdout.readline(), 120) == b"ready\n"
    assert containers_of(engine, owner)
    os.kill(server.pid, signal.SIGKILL)
    await server.wait()
    stuck = [  # what a crash can leave that does not go away by itself: never started, or hung
        engine.api.create_container(image, ["true"], labels={OWNER_LABEL: owner})["Id"],
        _started(engine, image, ["sleep", "1000"], {OWNER_LABEL: owner}),
    ]
    other = _started(engine, image, ["sleep", "1000"], {OWNER_LABEL: neighbour})
    try:
        assert set(stuck) <= set(containers_of(engine, owner))
        await make_docker(owner=owner).start()
        assert containers_of(engine, owner) == []
        assert containers_of(engine, neighbour) == [other]
    finally:
        engine.api.remove_container(other, force=True)


def _started(engine: "DockerClient", image: str, command: list[str], labels: dict[str, str]) -> str:
    container_id = engine.api.create_container(image, command, labels=labels)["Id"]
    engine.api.start(container_id)
    return container_id


async def test_leftovers_are_removed_only_when_no_live_server_shares_the_owner(
    make_docker, engine: "DockerClient"
) -> None:
    """Servers of one owner (one home) take turns: whoever starts while another lives leaves the containers be."""
    owner = unique_owner()
    first: DockerSandbox = make_docker(owner=owner)
    await first.prewarm()
    second: DockerSandbox = make_docker(owner=owner)
    await second.prewarm()  # started while `first` lives: its start removed none of first's containers
    assert set(containers_in(first)) <= set(containers_of(engine, owner))
    await first.close()

    restarted: DockerSandbox = make_docker(owner=owner)
    await restarted.start()  # `second` still lives and its containers carry the same owner
    assert containers_in(second) and set(containers_in(second)) <= set(containers_of(engine, owner))

    image = await restarted.build_images()
    stuck = engine.api.create_container(image, ["true"], labels={OWNER_LABEL: owner})["Id"]
    await second.close()
    await restarted.close()
    await make_docker(owner=owner).start()  # alone at last: what is left goes
    assert stuck not in containers_of(engine, owner)


def containers_in(backend: DockerSandbox) -> list[str]:
    """Ids of the containers `backend` has started and still holds (full ids begin with these)."""
    held = [c for pool in backend.stats()["pools"] for state in ("idle", "busy") for c in pool[state]]
    assert held, "the sandbox holds no container"
    return held
