"""A server that crashed leaves containers behind; the next start of a server with the same owner removes them,
and leaves other owners' containers alone."""

import asyncio
import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from tests.sandbox_docker.conftest import containers_of, unique_owner
from toolhub.sandbox.docker_container import OWNER_LABEL

if TYPE_CHECKING:
    from docker import DockerClient

CRASHING_SERVER = """
import asyncio, sys
from pathlib import Path
from toolhub.sandbox.docker import DockerOptions, DockerSandbox

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
