"""The local sandbox: custom Python tools in warm, confined worker processes on this machine.

A call's requirements pick a virtualenv (see `venvs.py`); the virtualenv, the network choice, the sandbox_dir and
the modules worth preloading pick a pool, which keeps one warm worker (see `runner.py`) and replaces it when it
dies. Workers start on first use, and the least recently used idle pool is closed when there are too many.
"""

import asyncio
import dataclasses
import itertools
import json
import logging
import shutil
import tempfile
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from toolhub.sandbox import bwrap
from toolhub.sandbox.base import ExecutionResult, SandboxError, ToolInvocation
from toolhub.sandbox.protocol import Outcome, to_result
from toolhub.sandbox.requirements import normalize_all, requirements_and_sandbox_dir
from toolhub.sandbox.venvs import Venv, VenvCache, VenvLease
from toolhub.sandbox.worker import WorkerProcess

logger = logging.getLogger(__name__)

RUNNER = Path(__file__).with_name("runner.py")
HEAVY_MODULES = ("asyncio", "pydantic")
"""Preloaded only in workers for tools that look like they use them: they make every fork dearer."""
_DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin"
_WORKER_ENV = {"PATH": _DEFAULT_PATH, "LANG": "C.UTF-8"}


@dataclasses.dataclass(frozen=True)
class PoolKey:
    requirements: tuple[str, ...]
    allow_network: bool
    sandbox_dir: Path | None
    preload: tuple[str, ...]


class LocalSandbox:
    """Runs custom Python tools on this machine; see the module docstring. Call `close()` when done."""

    def __init__(
        self,
        cache_dir: Path,
        *,
        private_dirs: Sequence[Path] = (),
        confine: bool | None = None,
        keep_venvs: int = 16,
        max_pools: int = 6,
        max_concurrent_calls: int = 64,
        spares: int = 2,
        scratch_mb: int = 512,
        uid_base: int = 1_600_000_000,
    ) -> None:
        """
        Args:
            cache_dir: where virtualenvs are kept (TOOLHUB_HOME/venvs).
            private_dirs: hidden from tools in addition to the server user's home (pass TOOLHUB_HOME).
            confine: use bubblewrap; None uses it when it works here, True refuses to run without it.
            keep_venvs: virtualenvs kept on disk, least recently used deleted first.
            max_pools: warm workers kept at once, one per (virtualenv, network, sandbox_dir, preload).
            max_concurrent_calls: calls in flight per worker; more wait.
            spares: children each worker keeps forked and warmed up ahead of calls.
            scratch_mb: size of each worker's tmpfs for call working directories.
            uid_base: first of the uids calls run as when the server is root (one per call in flight).
        """
        self._venvs = VenvCache(cache_dir, keep=keep_venvs)
        self._private_dirs = (Path.home(), *private_dirs)
        self._confine = confine
        self._confinement: bwrap.Confinement | None = None
        self._confinement_checked = False
        self._max_pools = max_pools
        self._max_calls = max_concurrent_calls
        self._spares = spares
        self._scratch_mb = scratch_mb
        self._uid_base = uid_base
        self._uid_ranges = itertools.count()
        self._pools: OrderedDict[PoolKey, _Pool] = OrderedDict()
        self._pool_locks: dict[PoolKey, asyncio.Lock] = {}
        self._setup_lock = asyncio.Lock()
        self._closed = False

    async def run(self, invocation: ToolInvocation) -> ExecutionResult:
        started = time.perf_counter()
        try:
            pool = await self._reserve_pool(invocation)
            try:
                outcome = await pool.run(invocation)
            finally:
                pool.in_flight -= 1
        except SandboxError as exc:
            elapsed = (time.perf_counter() - started) * 1000
            return ExecutionResult.failure(invocation.name, type(exc).__name__, str(exc), duration_ms=elapsed)
        return to_result(invocation, outcome)

    async def prewarm(self, pip_requirements: Sequence[str] = (), *, allow_network: bool = False) -> None:
        """Build the environment and start the worker that plain tools with these requirements will use."""
        invocation = ToolInvocation(
            name="prewarm", source_code="", args={}, pip_requirements=tuple(pip_requirements),
            allow_network=allow_network,
        )  # fmt: skip
        pool = await self._reserve_pool(invocation)
        try:
            await pool.worker()
        finally:
            pool.in_flight -= 1

    async def recreate(self, pip_requirements: Sequence[str] = ()) -> None:
        """Letta's recreate-venv: stop the workers of this requirement set (calls in flight on them fail), delete
        its virtualenv and build it again. Raises SandboxError (InstallError) when the build fails."""
        requirements = normalize_all(pip_requirements)
        for key in [key for key in self._pools if key.requirements == requirements]:
            await self._pools.pop(key).close()
        await asyncio.to_thread(self._venvs.discard, requirements)
        await self.prewarm(pip_requirements)

    def stats(self) -> dict[str, Any]:
        """What runs now: for health checks and for tests that look for leftovers."""
        return {
            "confined": self._confinement is not None if self._confinement_checked else None,
            "pools": [
                {
                    "requirements": list(key.requirements),
                    "allow_network": key.allow_network,
                    "sandbox_dir": None if key.sandbox_dir is None else str(key.sandbox_dir),
                    "preload": list(key.preload),
                    "venv": str(pool.venv.path),
                    **pool.stats(),
                }
                for key, pool in self._pools.items()
            ],
        }

    async def close(self) -> None:
        """Stop every worker (and every call still running) and release the virtualenvs."""
        self._closed = True
        pools = list(self._pools.values())
        self._pools.clear()
        await asyncio.gather(*(pool.close() for pool in pools))

    # ---- pools -----------------------------------------------------------------------------------------------------

    async def _reserve_pool(self, invocation: ToolInvocation) -> "_Pool":
        """The pool for this call, counted as in use (the caller gives it back) so it is not closed under it."""
        if self._closed:
            raise SandboxError("the sandbox is closed")
        requirements, sandbox_dir = requirements_and_sandbox_dir(invocation.pip_requirements, invocation.sandbox_dir)
        key = PoolKey(requirements, invocation.allow_network, sandbox_dir, preload_for(invocation))
        if key not in self._pools:
            async with self._pool_locks.setdefault(key, asyncio.Lock()):
                if key not in self._pools:
                    lease = await self._venvs.lease(key.requirements)
                    self._pools[key] = _Pool(key, lease, self._start_worker, self._max_calls)
        pool = self._pools[key]
        self._pools.move_to_end(key)
        pool.in_flight += 1
        await self._close_idle_pools()
        return pool

    async def _close_idle_pools(self) -> None:
        idle = [key for key, pool in self._pools.items() if pool.in_flight == 0]
        surplus = idle[: max(0, len(self._pools) - self._max_pools)]
        await asyncio.gather(*(self._pools.pop(key).close() for key in surplus))

    async def _confinement_for_workers(self) -> bwrap.Confinement | None:
        async with self._setup_lock:
            if not self._confinement_checked:
                self._confinement = await self._working_confinement()
                self._confinement_checked = True
            return self._confinement

    async def _working_confinement(self) -> bwrap.Confinement | None:
        found = bwrap.find_bwrap() if self._confine is not False else None
        confinement = None
        if found is not None:
            candidate = bwrap.Confinement(bwrap=found, hidden=self._private_dirs, scratch_mb=self._scratch_mb)
            confinement = candidate if await bwrap.works(candidate) else None
        if confinement is None and self._confine:
            raise SandboxError("bubblewrap is required (confine=True) but is missing or does not work here")
        if confinement is None and self._confine is None:
            logger.warning("bubblewrap is unavailable: local tools run without file-system and network confinement")
        return confinement

    async def _start_worker(self, key: PoolKey, venv: Venv) -> tuple[WorkerProcess, Path | None]:
        """A worker for `key`, and the host directory it keeps call directories in (None when that is a tmpfs)."""
        confinement = await self._confinement_for_workers()
        scratch = None if confinement else Path(tempfile.mkdtemp(prefix="toolhub-calls-"))
        slots = 2 * self._max_calls  # more than may be in flight: a cancelled call keeps its slot until it is gone
        config = {
            "scratch": str(scratch or bwrap.SCRATCH),
            "uid_base": self._next_uid_range(slots) if confinement and confinement.as_root else None,
            "slots": slots,
            "spares": self._spares,
            "preload": list(key.preload),
        }
        command = [str(venv.python), "-I", "-B", str(RUNNER), json.dumps(config)]
        if confinement:
            readable = [venv.path, venv.base_prefix, RUNNER.parent, *([key.sandbox_dir] if key.sandbox_dir else [])]
            command = confinement.command(command, readable=readable, allow_network=key.allow_network)
        try:
            return await WorkerProcess.start(command, env=_WORKER_ENV), scratch
        except SandboxError:
            if scratch:
                shutil.rmtree(scratch, ignore_errors=True)
            raise

    def _next_uid_range(self, size: int) -> int:
        """A separate uid range per worker: process-count limits are per uid, across the whole machine."""
        return self._uid_base + (next(self._uid_ranges) % 4096) * size


StartWorker = Callable[[PoolKey, Venv], Awaitable[tuple[WorkerProcess, Path | None]]]


class _Pool:
    """The warm worker for one pool key, started on first use and replaced once it has died."""

    def __init__(self, key: PoolKey, lease: VenvLease, start_worker: StartWorker, max_calls: int) -> None:
        self.key = key
        self.venv: Venv = lease.venv
        self._lease = lease
        self._start_worker = start_worker
        self._calls = asyncio.Semaphore(max_calls)
        self._starting = asyncio.Lock()
        self._worker: WorkerProcess | None = None
        self._scratch: Path | None = None
        self._closed = False
        self.in_flight = 0
        """Calls that hold this pool, waiting or running; only a pool with none is closed to make room."""

    async def run(self, invocation: ToolInvocation) -> Outcome:
        async with self._calls:
            worker = await self.worker()
            as_mounted = dataclasses.replace(invocation, sandbox_dir=self.key.sandbox_dir)
            return await worker.run(as_mounted, self._environment(invocation))

    async def worker(self) -> WorkerProcess:
        async with self._starting:
            if self._closed:
                raise SandboxError("the sandbox is closed")
            if self._worker is None or not self._worker.alive:
                await self._stop_worker()
                self._worker, self._scratch = await self._start_worker(self.key, self.venv)
            return self._worker

    def stats(self) -> dict[str, Any]:
        alive = self._worker is not None and self._worker.alive
        return {"worker_pid": self._worker.pid if alive else None, "in_flight": self.in_flight}

    async def close(self) -> None:
        async with self._starting:
            self._closed = True
            await self._stop_worker()
        self._lease.release()

    def _environment(self, invocation: ToolInvocation) -> dict[str, str]:
        """The invocation's variables, with this virtualenv first on PATH as if it were activated."""
        env = dict(invocation.env)
        env["PATH"] = f"{self.venv.path / 'bin'}:{env.get('PATH') or _DEFAULT_PATH}"
        env["VIRTUAL_ENV"] = str(self.venv.path)
        return env

    async def _stop_worker(self) -> None:
        if self._worker is not None:
            await self._worker.close()
            self._worker = None
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None


def preload_for(invocation: ToolInvocation) -> tuple[str, ...]:
    """Heavy modules worth having in the worker for this tool: a routing choice only, never a behaviour one."""
    source = invocation.source_code
    if invocation.args_json_schema is not None or "async def" in source or "pydantic" in source:
        return HEAVY_MODULES
    return ()
