"""The local backend's processes: many calls at once, a worker that dies, and nothing left after close()."""

import asyncio
import contextlib
import os
import signal
import tempfile
from pathlib import Path

from tests.sandbox.helpers import tool
from toolhub.sandbox.base import Sandbox, SandboxLimits
from toolhub.sandbox.local.sandbox import RUNNER, LocalSandbox

SQUARE = """
def square(n: int) -> int:
    import time
    time.sleep(0.05)
    return n * n
"""
HANG = "def hang():\n    import time\n    time.sleep(60)"


async def test_fifty_calls_at_once(sandbox: Sandbox) -> None:
    results = await asyncio.gather(*(sandbox.run(tool(SQUARE, {"n": n})) for n in range(50)))
    assert [r.func_return for r in results] == [n * n for n in range(50)]
    assert {r.status for r in results} == {"success"}


async def test_calls_beyond_the_concurrency_limit_wait(make_local) -> None:
    local: LocalSandbox = make_local(max_concurrent_calls=2)
    results = await asyncio.gather(*(local.run(tool(SQUARE, {"n": n})) for n in range(6)))
    assert [r.func_return for r in results] == [n * n for n in range(6)]


async def test_idle_pools_are_closed_beyond_the_limit(make_local) -> None:
    local: LocalSandbox = make_local(max_pools=1)
    plain, networked = tool(SQUARE, {"n": 2}), tool(SQUARE, {"n": 3}, allow_network=True)
    results = await asyncio.gather(local.run(plain), local.run(networked), local.run(plain))
    assert [r.func_return for r in results] == [4, 9, 4]
    assert (await local.run(networked)).func_return == 9
    assert [pool["allow_network"] for pool in _pools(local)] == [True]


async def test_pool_heals_after_its_worker_is_killed(make_local) -> None:
    local: LocalSandbox = make_local()
    assert (await local.run(tool(SQUARE, {"n": 2}))).func_return == 4
    in_flight = asyncio.create_task(local.run(tool(HANG)))
    await _until(lambda: _pools(local)[0]["in_flight"] == 1)
    first_worker = _pools(local)[0]["worker_pid"]
    os.kill(first_worker, signal.SIGKILL)
    lost = await in_flight
    assert lost.status == "error"
    assert lost.error.startswith("Error executing function hang: WorkerError: the sandbox worker stopped unexpectedly")
    assert (await local.run(tool(SQUARE, {"n": 3}))).func_return == 9
    assert _pools(local)[0]["worker_pid"] not in (None, first_worker)


async def test_a_cancelled_call_is_stopped(make_local) -> None:
    local: LocalSandbox = make_local()
    in_flight = asyncio.create_task(local.run(tool(HANG)))
    await _until(lambda: _pools(local) and len(_call_processes(local)) == 1)
    in_flight.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await in_flight
    assert _pools(local)[0]["in_flight"] == 0
    await _until(lambda: not _call_processes(local))
    assert (await local.run(tool(SQUARE, {"n": 4}))).func_return == 16


async def test_close_leaves_no_process_and_no_directory(make_local) -> None:
    before = _descendants(os.getpid())  # e.g. servers other test modules started, and their sandboxes
    local: LocalSandbox = make_local()
    detach = tool(
        """
        def detach():
            import subprocess
            subprocess.Popen(["sleep", "1000"], start_new_session=True)
            import time
            time.sleep(60)
        """
    )
    in_flight = asyncio.create_task(local.run(detach))
    await _until(lambda: any(b"sleep" in _cmdline(pid) for pid in _descendants(os.getpid())))
    ours = _descendants(os.getpid()) - before - _descendants_of_other_sandboxes(local)
    assert any(str(RUNNER).encode() in _cmdline(pid) for pid in ours)
    await local.close()
    assert (await in_flight).status == "error"
    assert not [pid for pid in ours if _alive(pid)]
    assert local.stats()["pools"] == []


async def test_unconfined_fallback_runs_and_cleans_up(make_local) -> None:
    """Without bubblewrap calls still get their limits, timeouts, working dirs and clean environment."""
    before = set(Path(tempfile.gettempdir()).glob("toolhub-calls-*"))
    local: LocalSandbox = make_local(confine=False)
    result = await local.run(
        tool(
            """
            def where() -> list:
                import os
                open("scratch.txt", "w").write("x")
                return [os.getcwd() == os.environ["HOME"], sorted(os.environ)]
            """,
            env={"ONLY": "this"},
        )
    )
    assert result.func_return == [True, ["HOME", "ONLY", "PATH", "TMPDIR", "VIRTUAL_ENV"]]
    timed_out = await local.run(tool(HANG, limits=SandboxLimits(timeout_s=0.5)))
    assert timed_out.error.endswith("TimeoutError: Executing tool hang timed out after 0.5 seconds.")
    assert local.stats()["confined"] is False
    await local.close()
    assert set(Path(tempfile.gettempdir()).glob("toolhub-calls-*")) == before


async def test_prewarm_starts_the_worker(make_local) -> None:
    local: LocalSandbox = make_local()
    await local.prewarm()
    (pool,) = _pools(local)
    assert pool["worker_pid"] is not None and pool["requirements"] == []


async def test_run_after_close_is_an_error_result(make_local) -> None:
    local: LocalSandbox = make_local()
    await local.close()
    result = await local.run(tool(SQUARE, {"n": 1}))
    assert result.error == "Error executing function square: SandboxError: the sandbox is closed"


def _call_processes(local: LocalSandbox) -> list[int]:
    """Live processes of the pool's worker that run as a call's uid (the worker and its spares share the uid of
    its user namespace's root)."""
    worker = _pools(local)[0]["worker_pid"]
    workers_uid = _uid(worker)
    return [pid for pid in _descendants(worker) if _alive(pid) and _uid(pid) not in (None, 0, workers_uid)]


def _uid(pid: int) -> int | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    return int(next(line for line in status.splitlines() if line.startswith("Uid:")).split()[1])


def _pools(local: LocalSandbox) -> list[dict]:
    return local.stats()["pools"]


async def _until(condition, timeout_s: float = 20.0) -> None:
    async with asyncio.timeout(timeout_s):
        while not condition():
            await asyncio.sleep(0.01)


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            parent = int(stat.rpartition(")")[2].split()[1])
            tree.setdefault(parent, []).append(int(entry))
    return tree


def _descendants(root: int) -> set[int]:
    tree, found, todo = _children(), set(), [root]
    while todo:
        for child in tree.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def _descendants_of_other_sandboxes(local: LocalSandbox) -> set[int]:
    """Workers of the session-wide sandbox fixture are also our descendants; leave them out."""
    mine = {pool["worker_pid"] for pool in _pools(local)}
    others = set()
    for pid in _descendants(os.getpid()):
        if b"bwrap" in _cmdline(pid) and pid not in mine:
            others |= {pid} | _descendants(pid)
    return others


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"
