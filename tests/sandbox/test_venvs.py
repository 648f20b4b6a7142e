"""The virtualenv cache: one build per requirement set even across processes, least recently used collected."""

import asyncio
import os
import sys
from pathlib import Path

from toolhub.sandbox.local.venvs import VenvCache

LEASE_IN_ANOTHER_PROCESS = """
import asyncio, logging, sys
from pathlib import Path
from toolhub.sandbox.local.venvs import VenvCache
logging.basicConfig(level=logging.INFO, format="%(message)s")
lease = asyncio.run(VenvCache(Path(sys.argv[1])).lease(("cowsay",)))
print(lease.venv.path)
"""


async def test_one_build_per_key_across_processes(tmp_path: Path) -> None:
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            LEASE_IN_ANOTHER_PROCESS,
            str(tmp_path),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            cwd=Path(__file__).parents[2],
        )  # fmt: skip
        for _ in range(3)
    ]
    outputs = [await process.communicate() for process in processes]
    assert [process.returncode for process in processes] == [0, 0, 0], outputs
    paths = {stdout.decode().strip() for stdout, _ in outputs}
    builds = sum(stderr.decode().count("building virtualenv") for _, stderr in outputs)
    assert (len(paths), builds) == (1, 1)
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_dir()) == [Path(paths.pop()).name]


async def test_concurrent_leases_in_one_process_share_the_build(tmp_path: Path) -> None:
    cache = VenvCache(tmp_path)
    leases = await asyncio.gather(*(cache.lease(()) for _ in range(5)))
    assert len({lease.venv.path for lease in leases}) == 1
    for lease in leases:
        lease.release()


async def test_least_recently_used_is_collected_unless_in_use(tmp_path: Path) -> None:
    cache = VenvCache(tmp_path, keep=1)
    plain = await cache.lease(())
    plain_path = plain.venv.path
    cowsay = await cache.lease(("cowsay",))
    assert plain_path.exists()  # in use: kept although over the limit
    plain.release()
    assert cache.collect() == [plain_path.name]
    assert not plain_path.exists()
    assert cowsay.venv.path.exists()
    cowsay.release()
    again = await cache.lease(())  # built again on demand
    assert again.venv.python.exists()
    again.release()


async def test_abandoned_builds_are_collected(tmp_path: Path) -> None:
    cache = VenvCache(tmp_path)
    abandoned = tmp_path / f".build-{cache.key(('cowsay',))}-crashed"
    abandoned.mkdir(parents=True)
    (abandoned / "half").write_text("")
    cache.collect()
    assert not abandoned.exists()


async def test_environment_has_pydantic_and_is_usable_by_other_uids(tmp_path: Path) -> None:
    lease = await VenvCache(tmp_path).lease(())
    try:
        process = await asyncio.create_subprocess_exec(lease.venv.python, "-I", "-c", "import pydantic")
        assert await process.wait() == 0
        assert os.stat(lease.venv.path).st_mode & 0o005 == 0o005
    finally:
        lease.release()
