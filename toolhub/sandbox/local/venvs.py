"""Virtualenvs for tool requirements, built with uv and cached by a hash of the Python version and requirements.

Layout of the cache directory, safe for several server processes at once:

    <key>/            a finished environment; it appears by an atomic rename, so a half-built one is never seen
    <key>.lock        flock: exclusive while building or deleting <key>, shared while a worker uses it
    .build-<key>-*/   an environment being built (left behind by a crash; removed by `collect`)
    .trash-<key>-*/   an environment being deleted

No package code ever runs on the host while an environment is built. Packages are installed from wheels only
(`--no-build`: building a source distribution runs the package's code) by uv, which unpacks them without starting
the new interpreter; uv gets only the variables it needs to reach the package index, none of the server's secrets.
The interpreter's base prefix is read before any package is installed (a wheel may replace `bin/python`, and a
`.pth` file runs whenever an interpreter with the environment's site-packages starts). Byte-compiling is handed to
`compile_step`, which the local sandbox runs inside the same confinement as tool code, with the base interpreter
under `-I -S` (no site-packages, no `.pth`).
"""

import asyncio
import fcntl
import hashlib
import json
import logging
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from toolhub.sandbox.uv import run_uv, with_pydantic

logger = logging.getLogger(__name__)

RECIPE = "toolhub-venv-1"
"""Part of every key: change it when the way environments are built changes."""
MANIFEST = "toolhub-env.json"
CompileStep = Callable[["Path", "Path"], None]
"""Byte-compiles an environment being built: (environment, its base prefix). Raises InstallError."""


@dataclass(frozen=True)
class Venv:
    key: str
    path: Path
    requirements: tuple[str, ...]
    base_prefix: Path
    """The Python installation the environment links to: a sandbox must be able to read it too."""

    @property
    def python(self) -> Path:
        return self.path / "bin" / "python"


class VenvLease:
    """A shared lock on an environment: while it is held, no process deletes the environment."""

    def __init__(self, venv: Venv, lock_fd: int) -> None:
        self.venv = venv
        self._lock_fd: int | None = lock_fd

    def release(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None


class VenvCache:
    """Builds environments on first use and keeps the `keep` most recently used ones."""

    def __init__(
        self,
        root: Path,
        *,
        keep: int = 16,
        python: Path | None = None,
        compile_step: CompileStep | None = None,
    ) -> None:
        self.root = root
        self.keep = keep
        self.python = python or Path(sys.executable)
        self.compile_step = compile_step or compile_unconfined
        self._locks: dict[str, asyncio.Lock] = {}

    def key(self, requirements: tuple[str, ...]) -> str:
        """Requirements must already be normalized (see `requirements.normalize_all`)."""
        identity = json.dumps([RECIPE, sys.implementation.name, platform.python_version(), list(requirements)])
        return hashlib.sha256(identity.encode()).hexdigest()[:32]

    async def lease(self, requirements: tuple[str, ...]) -> VenvLease:
        """The environment for `requirements`, built now if needed. Raises InstallError."""
        key = self.key(requirements)
        async with self._locks.setdefault(key, asyncio.Lock()):
            future = asyncio.get_running_loop().run_in_executor(None, self._lease, key, requirements)
            try:
                return await asyncio.shield(future)
            except asyncio.CancelledError:
                future.add_done_callback(_release_if_leased)
                raise

    def discard(self, requirements: tuple[str, ...]) -> bool:
        """Delete the environment for `requirements` unless something still uses it (for recreate-venv)."""
        key = self.key(requirements)
        return (self.root / key).exists() and self._delete_if_unused(key, self.root / key)

    def collect(self) -> list[str]:
        """Delete environments beyond the `keep` most recently used, and abandoned builds; skip any in use."""
        self.root.mkdir(parents=True, exist_ok=True)
        envs = sorted(
            (entry for entry in self.root.iterdir() if entry.is_dir() and not entry.name.startswith(".")),
            key=lambda entry: entry.stat().st_mtime,
            reverse=True,
        )
        removed = []
        for entry in envs[self.keep :]:
            if self._delete_if_unused(entry.name, entry):
                removed.append(entry.name)
        for entry in self.root.glob(".build-*"):
            self._delete_if_unused(entry.name.split("-")[1], entry)
        for entry in self.root.glob(".trash-*"):  # a deletion that was interrupted
            shutil.rmtree(entry, ignore_errors=True)
        return removed

    # ---- blocking work, run in a thread ------------------------------------------------------------------------

    def _lease(self, key: str, requirements: tuple[str, ...]) -> VenvLease:
        self.root.mkdir(parents=True, exist_ok=True)
        final = self.root / key
        fd = os.open(self.root / f"{key}.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_SH)
            built = False
            if not final.exists():
                fcntl.flock(fd, fcntl.LOCK_EX)  # not atomic: another process may have built it meanwhile
                if not final.exists():
                    self._build(key, requirements, final)
                    built = True
                fcntl.flock(fd, fcntl.LOCK_SH)
            os.utime(final)
            manifest = json.loads((final / MANIFEST).read_text())
        except BaseException:
            os.close(fd)
            raise
        if built:
            self.collect()
        venv = Venv(key, final, requirements, Path(manifest["base_prefix"]))
        return VenvLease(venv, fd)

    def _build(self, key: str, requirements: tuple[str, ...], final: Path) -> None:
        logger.info("building virtualenv %s for %s", key, list(requirements) or "no requirements")
        with tempfile.TemporaryDirectory(prefix=f".build-{key}-", dir=self.root) as scratch:
            env = Path(scratch) / "env"
            run_uv(["venv", "--quiet", "--relocatable", "--python", str(self.python), str(env)], what="the virtualenv")
            base_prefix = subprocess.run(  # before any package is in: -S and a pristine bin/python
                [env / "bin" / "python", "-I", "-S", "-c", "import sys; print(sys.base_prefix)"],
                capture_output=True, text=True, check=True, env={"PATH": os.defpath},
            ).stdout.strip()  # fmt: skip
            run_uv(
                ["pip", "install", "--quiet", "--no-build", "--python", str(env / "bin" / "python"),
                 *with_pydantic(requirements)],
                what=", ".join(requirements) or "the virtualenv",
            )  # fmt: skip
            self.compile_step(env, Path(base_prefix))
            manifest = {"requirements": list(requirements), "python": platform.python_version()}
            (env / MANIFEST).write_text(json.dumps({**manifest, "base_prefix": base_prefix}))
            env.rename(final)

    def _delete_if_unused(self, key: str, path: Path) -> bool:
        with _try_exclusive(self.root / f"{key}.lock") as locked:
            if locked and path.exists():
                trash = path.with_name(f".trash-{key}-{os.getpid()}")
                path.rename(trash)
                shutil.rmtree(trash, ignore_errors=True)
                return True
        return False


@contextmanager
def _try_exclusive(lock_path: Path) -> Iterator[bool]:
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)


def compile_command(base_prefix: Path, site_packages: Path) -> list[str]:
    """Byte-compile with the base interpreter, isolated and without site: compiling runs no package code."""
    python = base_prefix / "bin" / f"python{sys.version_info.major}.{sys.version_info.minor}"
    return [str(python), "-I", "-S", "-m", "compileall", "-q", "-j", "0", str(site_packages)]


def site_packages(env: Path) -> Path:
    return env / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"


def compile_unconfined(env: Path, base_prefix: Path) -> None:
    """For servers that run tools unconfined by choice: the same command, on the host (it runs no package code)."""
    subprocess.run(compile_command(base_prefix, site_packages(env)), capture_output=True, env={"PATH": os.defpath})


def _release_if_leased(future: "asyncio.Future[VenvLease]") -> None:
    if not future.cancelled() and future.exception() is None:
        future.result().release()
