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
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

from toolhub.sandbox.local import bwrap, egress
from toolhub.sandbox.base import ExecutionResult, SandboxError, ToolInvocation
from toolhub.sandbox.config_models import LocalSandboxConfig
from toolhub.sandbox.pools import PoolSet
from toolhub.sandbox.wire import Outcome, preload_for, to_result
from toolhub.sandbox.requirements import normalize_all, overlaps, requirements_and_sandbox_dir
from toolhub.sandbox.local.venvs import Venv, VenvCache, VenvLease, compile_command, site_packages
from toolhub.sandbox.uv import InstallError
from toolhub.sandbox.worker import WorkerProcess

logger = logging.getLogger(__name__)

RUNNER = Path(__file__).parents[1] / "inside" / "runner.py"
_DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin"
_UID_RANGES = 4096
_WORKER_ENV = {"PATH": _DEFAULT_PATH, "LANG": "C.UTF-8"}


@dataclasses.dataclass(frozen=True)
class PoolKey:
    tenant: str
    requirements: tuple[str, ...]
    allow_network: bool
    sandbox_dir: Path | None
    preload: tuple[str, ...]


class LocalSandbox:
    """Runs custom Python tools on this machine; see the module docstring. Call `close()` when done."""

    config_model = LocalSandboxConfig

    def __init__(
        self,
        cache_dir: Path,
        *,
        private_dirs: Sequence[Path] = (),
        confine: bool = True,
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
            private_dirs: never usable as a sandbox_dir (pass TOOLHUB_HOME: it holds the database).
            confine: run workers under bubblewrap in a user namespace (see `bwrap.py`); calls fail with the reason
                when that is impossible here. False runs tools with limits only, for development on a machine
                where tools are trusted: it is never chosen silently.
            keep_venvs: virtualenvs kept on disk, least recently used deleted first.
            max_pools: warm workers kept at once, one per (tenant, virtualenv, network, sandbox_dir, preload).
            max_concurrent_calls: calls in flight per worker; more wait.
            spares: children each worker keeps forked and warmed up ahead of calls.
            scratch_mb: size of each worker's tmpfs for call working directories.
            uid_base: first host uid of the user namespaces workers run in (one range per worker).
        """
        self._private_dirs = tuple(Path(path).resolve() for path in private_dirs)
        self._confine = confine
        self._confinement: bwrap.Confinement | None = None
        self._confinement_problem: str | None = None
        self._confinement_checked = False
        self._max_calls = max_concurrent_calls
        self._spares = spares
        self._scratch_mb = scratch_mb
        self._uid_base = uid_base
        self._uid_ranges = itertools.count(1)
        self._egress_ruled = False
        self._venvs = VenvCache(cache_dir, keep=keep_venvs, compile_step=self._compile_confined if confine else None)
        self._pools: PoolSet[PoolKey, _Pool] = PoolSet(max_pools)
        self._setup_lock = asyncio.Lock()

    async def start(self) -> None:
        """Check, once, that tools can run here as configured. Raises SandboxError saying why not (every call then
        fails with the same reason)."""
        await self._confinement_for_workers()

    async def run(self, invocation: ToolInvocation, config: LocalSandboxConfig | None = None) -> ExecutionResult:
        """Run one call, under `config` (a stored local sandbox config) when given, else as the invocation says."""
        if config is not None:
            invocation = config.applied_to(invocation)
        started = time.perf_counter()
        try:
            async with self._pool(invocation) as pool:
                outcome = await pool.run(invocation)
        except SandboxError as exc:
            elapsed = (time.perf_counter() - started) * 1000
            return ExecutionResult.failure(
                invocation.name, type(exc).__name__, str(exc), duration_ms=elapsed, cause=exc
            )
        return to_result(invocation, outcome)

    async def prewarm(self, pip_requirements: Sequence[str] = (), *, allow_network: bool = False) -> None:
        """Build the environment and start the worker that plain tools with these requirements will use."""
        invocation = ToolInvocation(
            name="prewarm", source_code="", args={}, pip_requirements=tuple(pip_requirements),
            allow_network=allow_network,
        )  # fmt: skip
        async with self._pool(invocation) as pool:
            await pool.worker()

    async def recreate(self, pip_requirements: Sequence[str] = ()) -> None:
        """Letta's recreate-venv: stop the workers of this requirement set (calls in flight on them fail), delete
        its virtualenv and build it again. Raises SandboxError (InstallError) when the build fails."""
        requirements = normalize_all(pip_requirements)
        await self._pools.close_where(lambda key: key.requirements == requirements)
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
                    "in_flight": self._pools.users(key),
                    **pool.stats(),
                }
                for key, pool in self._pools.items()
            ],
        }

    async def close(self) -> None:
        """Stop every worker (and every call still running) and release the virtualenvs."""
        await self._pools.close()

    # ---- pools -----------------------------------------------------------------------------------------------------

    def _pool(self, invocation: ToolInvocation) -> AbstractAsyncContextManager["_Pool"]:
        """The pool for this call, held in use until the block ends. Raises SandboxError (a bad requirement or
        sandbox_dir, no confinement here, the sandbox closed)."""
        requirements, sandbox_dir = requirements_and_sandbox_dir(invocation.pip_requirements, invocation.sandbox_dir)
        if sandbox_dir is not None and any(overlaps(sandbox_dir, private) for private in self._private_dirs):
            raise SandboxError(f"the sandbox_dir {str(sandbox_dir)!r} overlaps the server's private data")
        key = PoolKey(invocation.tenant, requirements, invocation.allow_network, sandbox_dir, preload_for(invocation))

        async def make() -> _Pool:
            await self._confinement_for_workers()  # before a virtualenv is built: its compile step runs confined
            lease = await self._venvs.lease(key.requirements)
            return _Pool(key, lease, self._start_worker, self._max_calls)

        return self._pools.use(key, make)

    async def _confinement_for_workers(self) -> bwrap.Confinement | None:
        """The confinement workers start in; None when unconfined by choice. Raises SandboxError when it is
        required and impossible here."""
        async with self._setup_lock:
            if not self._confinement_checked:
                self._confinement, self._confinement_problem = await self._working_confinement()
                self._confinement_checked = True
        if self._confinement_problem is not None:
            raise SandboxError(self._confinement_problem)
        return self._confinement

    async def _working_confinement(self) -> tuple[bwrap.Confinement | None, str | None]:
        if not self._confine:
            logger.warning("the local sandbox runs tools unconfined (confine=False): use it only for trusted tools")
            return None, None
        problem = bwrap.unavailable_reason()
        if problem is None:
            confinement = bwrap.Confinement(bwrap=bwrap.find_bwrap(), scratch_mb=self._scratch_mb)  # type: ignore[arg-type]
            failure = await bwrap.works(confinement, self._uid_base)
            if failure is None:
                return confinement, None
            problem = f"the local sandbox cannot confine tools here: {failure}"
        return None, problem

    async def _start_worker(self, key: PoolKey, venv: Venv) -> tuple[WorkerProcess, Path | None]:
        """A worker for `key`, and the host directory it keeps call directories in (None when that is a tmpfs)."""
        confinement = await self._confinement_for_workers()
        scratch = None if confinement else Path(tempfile.mkdtemp(prefix="toolhub-calls-"))
        slots = 2 * self._max_calls  # more than may be in flight: a cancelled call keeps its slot until it is gone
        config = {
            "scratch": str(scratch or bwrap.SCRATCH),
            "uid_base": 1 if confinement else None,  # namespace uids 1..slots; 0 is the worker itself
            "slots": slots,
            "spares": self._spares,
            "preload": list(key.preload),
        }
        command = [str(venv.python), "-I", "-B", str(RUNNER), json.dumps(config)]
        if confinement:
            if key.allow_network:
                await self._rule_egress(slots + 1)
            readable = [venv.path, venv.base_prefix, RUNNER.parent, *([key.sandbox_dir] if key.sandbox_dir else [])]
            command = confinement.command(
                command,
                readable=readable,
                allow_network=key.allow_network,
                uid_base=self._next_uid_range(slots + 1),
                ids=slots + 1,
            )
        try:
            return await WorkerProcess.start(command, env=_WORKER_ENV), scratch
        except SandboxError:
            if scratch:
                shutil.rmtree(scratch, ignore_errors=True)
            raise

    def _next_uid_range(self, size: int) -> int:
        """A separate host uid range per worker (ranges start at 1: range 0 builds virtualenvs); process limits
        count per uid across the whole machine."""
        return self._uid_base + (next(self._uid_ranges) % _UID_RANGES or 1) * size

    async def _rule_egress(self, size: int) -> None:
        """Before the first worker with network starts: keep its tools off this machine and its network."""
        async with self._setup_lock:
            if not self._egress_ruled:
                await asyncio.to_thread(egress.install, self._uid_base, self._uid_base + _UID_RANGES * size - 1)
                self._egress_ruled = True

    def _compile_confined(self, env: Path, base_prefix: Path) -> None:
        """Byte-compile a virtualenv being built inside the confinement tools run in (see `venvs.py`): the build
        belongs to the namespace's root (host `uid_base`) while it runs, and to root again afterwards."""
        confinement = self._confinement
        if confinement is None:
            raise InstallError(self._confinement_problem or "the local sandbox is not confined")
        command = confinement.command(
            compile_command(base_prefix, site_packages(env)),
            readable=[base_prefix],
            writable=[env],
            allow_network=False,
            uid_base=self._uid_base,
            ids=1,
        )
        _chown_tree(env, self._uid_base)
        try:
            done = subprocess.run(command, capture_output=True, text=True, env={"PATH": os.defpath}, timeout=600)
        except subprocess.TimeoutExpired:
            raise InstallError("byte-compiling the virtualenv took longer than 600 s") from None
        finally:
            _chown_tree(env, 0)
        if done.returncode != 0:
            raise InstallError(f"could not byte-compile the virtualenv: {done.stderr.strip()[-2000:]}")


def _chown_tree(root: Path, uid: int) -> None:
    """Give a tree to `uid` without following links (a package may ship a link pointing anywhere)."""
    os.lchown(root, uid, uid)
    for directory, dirs, files in os.walk(root):
        for name in (*dirs, *files):
            os.lchown(os.path.join(directory, name), uid, uid)


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
        return {"worker_pid": self._worker.pid if alive else None}

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
