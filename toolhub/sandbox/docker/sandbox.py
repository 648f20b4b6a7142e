"""The Docker sandbox: custom Python tools in hardened containers, kept warm in pools, one fresh fork per call.

A call's tenant, its requirements, its memory and the Docker sandbox config (image, cpus, pids_limit, network,
sandbox_dir, tmp_mb, pool_size) pick a pool, so no container ever serves two organizations; a pool keeps warm
containers of one image and one spec (see `pool.py`).
Images are built on first use and cached by content hash (see `image.py`); containers are hardened as
described in `container.py`, and those granted a network join the fenced network of `network.py`.
`start()` connects to the engine and removes the containers an earlier run of this server instance left behind,
unless another live server shares the instance id; `close()` removes every container this sandbox started.
"""

import asyncio
import dataclasses
import itertools
import logging
import re
import secrets
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from toolhub.sandbox.docker import container as docker_container, network as docker_network
from toolhub.sandbox.base import ExecutionResult, SandboxError, ToolInvocation
from toolhub.sandbox.config_models import DockerSandboxConfig
from toolhub.sandbox.docker.container import CALL_SLOTS, OWNER_LABEL, PIDS_HEADROOM, ContainerSpec, InstanceLock
from toolhub.sandbox.docker.engine import call, connect
from toolhub.sandbox.docker.image import VENV, env_image, sandbox_image
from toolhub.sandbox.docker.pool import ContainerPool, PoolLimits
from toolhub.sandbox.docker.rootfs import REGISTRY_IMAGE, root_image
from toolhub.sandbox.pools import PoolSet
from toolhub.sandbox.wire import preload_for, to_result
from toolhub.sandbox.requirements import normalize_all, requirements_and_sandbox_dir

if TYPE_CHECKING:
    from docker import DockerClient

logger = logging.getLogger(__name__)

CALL_UID_BASE = 1_700_000_000
UID_RANGES = 1 << 16
"""Calls run as uids CALL_UID_BASE + range * CALL_SLOTS + slot. Process limits count per uid across the machine,
so every container gets a range of its own; a random first range keeps two servers on one engine apart."""
_DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin"
_DEFAULT_CONFIG = DockerSandboxConfig()
_OWNER = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


@dataclass(frozen=True, kw_only=True)
class DockerOptions:
    """How the server runs its Docker sandbox; what varies per sandbox config is in `DockerSandboxConfig`."""

    owner: str = "toolhub"
    """The server's instance id: labels every container, and names its lock files in the work dir. At start-up,
    containers with this owner are removed as leftovers unless another live server has the same owner; servers
    that share one engine need different owners (the server's `instance_id` setting)."""
    base_url: str | None = None
    """The engine, e.g. unix:///var/run/docker.sock or tcp://host:2375; None lets the SDK decide (DOCKER_HOST)."""
    registry_image: str | None = REGISTRY_IMAGE
    """Pulled as the Python base when a registry is reachable; None always builds one with debootstrap."""
    max_calls_per_container: int = 200
    max_container_age_s: float = 600.0
    pool_wait_s: float = 60.0
    """How long a call waits for a container when its pool is at `pool_size`."""
    warm_containers: int = 1
    max_pools: int = 8
    """Pools kept at once; the least recently used idle one is closed beyond this."""
    memory_headroom_mb: int = 128
    """Container memory beyond the call's own limit: the runner, its spare child and the /tmp tmpfs."""

    def __post_init__(self) -> None:
        if not _OWNER.fullmatch(self.owner):
            raise ValueError(f"owner {self.owner!r} must be 1-64 letters, digits, '_', '.' or '-'")


@dataclass(frozen=True)
class PoolKey:
    tenant: str
    image: str | None
    requirements: tuple[str, ...]
    memory_mb: int
    cpus: float
    pids_limit: int
    network: bool
    tmp_mb: int
    sandbox_dir: Path | None
    preload: tuple[str, ...]
    pool_size: int


class DockerSandbox:
    """Runs custom Python tools in Docker containers; see the module docstring. Call `close()` when done."""

    config_model = DockerSandboxConfig

    def __init__(self, work_dir: Path, options: DockerOptions | None = None) -> None:
        """
        Args:
            work_dir: scratch space for image builds (TOOLHUB_HOME/docker); a debootstrap build needs ~300 MB.
            options: see `DockerOptions`.
        """
        self._work_dir = work_dir
        self._options = options or DockerOptions()
        self._client: DockerClient | None = None
        self._connect_lock = asyncio.Lock()
        self._start_lock = asyncio.Lock()
        self._started = False
        self._instance: InstanceLock | None = None
        self._built: dict[tuple[Any, ...], str] = {}
        self._build_locks: dict[tuple[Any, ...], asyncio.Lock] = {}
        self._pools: PoolSet[PoolKey, ContainerPool] = PoolSet(self._options.max_pools)
        self._uid_ranges = itertools.count(secrets.randbelow(UID_RANGES))
        self._closed = False

    async def start(self) -> None:
        """Connect to the engine and remove what an earlier run of this instance left; `run` does this itself
        when needed. The instance lock taken here is held until `close()`.

        Raises:
            DockerSandboxError: the SDK is missing or the engine does not answer.
        """
        async with self._start_lock:
            if self._started:
                return
            client, owner = await self._connect(), self._options.owner
            if self._instance is None:
                self._instance = await asyncio.to_thread(InstanceLock, self._work_dir, owner)
            with self._instance.sole() as other_server:
                if other_server:
                    logger.warning("leaving containers of instance %r alone: %s", owner, other_server)
                else:
                    removed = await docker_container.remove_owned(client, owner)
                    if removed:
                        logger.info("removed %d sandbox containers left behind by an earlier run", removed)
            self._started = True

    async def run(self, invocation: ToolInvocation, config: DockerSandboxConfig | None = None) -> ExecutionResult:
        """Run one call under a stored Docker sandbox config (applied to the invocation: see
        `DockerSandboxConfig.applied_to`), or as the invocation says with the default image, cpus, pids and pool
        size when None."""
        if config is not None:
            invocation = config.applied_to(invocation)
        config = config or _DEFAULT_CONFIG
        limits = dataclasses.replace(
            invocation.limits, max_processes=min(invocation.limits.max_processes, config.pids_limit)
        )
        invocation = dataclasses.replace(invocation, limits=limits)
        started = time.perf_counter()
        try:
            async with self._pool(invocation, config) as pool:
                outcome = await pool.run(invocation, _environment(invocation))
        except SandboxError as exc:
            elapsed = (time.perf_counter() - started) * 1000
            return ExecutionResult.failure(
                invocation.name, type(exc).__name__, str(exc), duration_ms=elapsed, cause=exc
            )
        return to_result(invocation, outcome)

    async def build_images(self, config: DockerSandboxConfig | None = None) -> str:
        """Build (or find) the image that plain tools under `config` run in, and return its tag; logs progress.

        Unlike `start`, this leaves every container alone, so it is safe next to a running server.
        """
        config = config or _DEFAULT_CONFIG
        return await self._image(config.image, normalize_all(str(r) for r in config.pip_requirements))

    async def prewarm(self, config: DockerSandboxConfig | None = None, *, tenant: str = "") -> None:
        """Build the images and start a container for plain tools of `tenant` under `config`, before the first
        call needs it.

        Raises:
            SandboxError: an image could not be built or a container not started.
        """
        invocation = ToolInvocation(name="prewarm", source_code="", args={}, tenant=tenant)
        async with self._pool(invocation, config or _DEFAULT_CONFIG) as pool:
            await pool.prewarm()

    def stats(self) -> dict[str, Any]:
        """What runs now, for health checks and for tests that look for leftovers."""
        return {
            "pools": [
                {
                    "tenant": key.tenant,
                    "requirements": list(key.requirements),
                    "image": key.image,
                    "network": key.network,
                    **pool.stats(),
                }
                for key, pool in self._pools.items()
            ]
        }

    async def close(self) -> None:
        """Remove every container this sandbox started (calls still running end with an error)."""
        self._closed = True
        await self._pools.close()
        if self._client is not None:
            self._client.close()
        if self._instance is not None:
            self._instance.release()

    # ---- pools -----------------------------------------------------------------------------------------------------

    @asynccontextmanager
    async def _pool(self, invocation: ToolInvocation, config: DockerSandboxConfig) -> AsyncIterator[ContainerPool]:
        """The pool for this call, held in use (so that it is not closed as idle) until the block ends."""
        if self._closed:
            raise SandboxError("the sandbox is closed")
        await self.start()
        key = _pool_key(invocation, config)
        async with self._pools.use(key, partial(self._new_pool, key)) as pool:
            yield pool

    async def _new_pool(self, key: PoolKey) -> ContainerPool:
        image = await self._image(key.image, key.requirements)
        spec = ContainerSpec(
            image=image,
            memory_mb=key.memory_mb + self._options.memory_headroom_mb,
            cpus=key.cpus,
            pids_limit=key.pids_limit + PIDS_HEADROOM,
            network=docker_network.NETWORK if key.network else None,
            tmp_mb=key.tmp_mb,
            sandbox_dir=key.sandbox_dir,
            preload=key.preload,
            labels={OWNER_LABEL: self._options.owner},
        )
        options = self._options
        limits = PoolLimits(
            size=key.pool_size,
            max_calls=options.max_calls_per_container,
            max_age_s=options.max_container_age_s,
            wait_s=options.pool_wait_s,
            warm=options.warm_containers,
        )
        stop = partial(docker_container.stop, self._engine())
        return ContainerPool(partial(self._start_container, spec), stop, limits)

    async def _start_container(self, spec: ContainerSpec) -> docker_container.SandboxContainer:
        if spec.network:
            await docker_network.prepare(self._engine())  # every time: the rules may have been flushed since
        uid_base = CALL_UID_BASE + (next(self._uid_ranges) % UID_RANGES) * CALL_SLOTS
        return await docker_container.start(self._engine(), spec, uid_base)

    # ---- images ----------------------------------------------------------------------------------------------------

    async def _image(self, root: str | None, requirements: tuple[str, ...]) -> str:
        """The image for `requirements` over the runner image on `root` (the built-in Python when None)."""
        client, work_dir = await self._connect(), self._work_dir

        def build_sandbox_image() -> str:
            return sandbox_image(client, root or root_image(client, work_dir, self._options.registry_image), work_dir)

        sandbox = await self._build_once(("sandbox", root), "build the sandbox image", build_sandbox_image)
        what = f"build the sandbox image for {', '.join(requirements) or 'no requirements'}"
        return await self._build_once(
            ("env", sandbox, requirements), what, partial(env_image, client, sandbox, requirements, work_dir)
        )

    async def _build_once(self, key: tuple[Any, ...], what: str, build: Callable[[], str]) -> str:
        """Build what `key` names (in a thread) unless this sandbox has it; concurrent askers share one build."""
        async with self._build_locks.setdefault(key, asyncio.Lock()):
            if key not in self._built:
                self._built[key] = await call(what, build)
            return self._built[key]

    async def _connect(self) -> "DockerClient":
        async with self._connect_lock:
            if self._client is None:
                self._client = await asyncio.to_thread(connect, self._options.base_url)
            return self._client

    def _engine(self) -> "DockerClient":
        assert self._client is not None, "pools exist only after start() connected"
        return self._client


def build_image(work_dir: Path, options: DockerOptions | None = None) -> str:
    """For `toolhub sandbox build-image`: build (or find) the image plain tools run in, and return its tag.

    Raises:
        SandboxError: the engine, debootstrap or uv failed; the message says which.
    """

    async def build() -> str:
        sandbox = DockerSandbox(work_dir, options)
        try:
            return await sandbox.build_images()
        finally:
            await sandbox.close()

    return asyncio.run(build())


def _pool_key(invocation: ToolInvocation, config: DockerSandboxConfig) -> PoolKey:
    """Raises SandboxError for a missing sandbox_dir, InvalidRequirementError for a requirement that is not a
    plain package name and version."""
    requirements, sandbox_dir = requirements_and_sandbox_dir(invocation.pip_requirements, invocation.sandbox_dir)
    return PoolKey(
        tenant=invocation.tenant,
        image=config.image,
        requirements=requirements,
        memory_mb=invocation.limits.memory_mb,
        cpus=config.cpus,
        pids_limit=invocation.limits.max_processes,
        network=invocation.allow_network,
        tmp_mb=config.tmp_mb,
        sandbox_dir=sandbox_dir,
        preload=preload_for(invocation),
        pool_size=config.pool_size,
    )


def _environment(invocation: ToolInvocation) -> dict[str, str]:
    """The invocation's variables, with the image's virtualenv first on PATH as if it were activated."""
    env = dict(invocation.env)
    env["PATH"] = f"{VENV / 'bin'}:{env.get('PATH') or _DEFAULT_PATH}"
    env["VIRTUAL_ENV"] = str(VENV)
    return env
