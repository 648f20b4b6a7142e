"""The bubblewrap command line that confines a local worker.

Inside: the host's file system read-only, a private /tmp (size-capped tmpfs, the only writable place, where each
call gets its own working directory), fresh /dev and /proc, a new PID namespace (the worker and its calls see
only themselves), no network unless asked, and the server's home and data directories replaced by empty ones.
The worker dies with the server.

As root, the worker keeps only the capabilities it needs to run each call as its own unprivileged uid (see
`runner.py`); the paths those uids must read (interpreter, virtualenv, sandbox_dir) are bound back in where a
closed directory would hide them. Otherwise the worker runs in a user namespace with no capabilities at all.
"""

import asyncio
import os
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

SCRATCH = Path("/tmp")
"""Where the tmpfs for call directories is mounted inside the sandbox."""
_WORKER_CAPABILITIES = ("CAP_SETUID", "CAP_SETGID", "CAP_CHOWN", "CAP_KILL", "CAP_DAC_OVERRIDE", "CAP_FOWNER")


@dataclass(frozen=True, kw_only=True)
class Confinement:
    bwrap: Path
    hidden: tuple[Path, ...]
    """Directories replaced by an empty tmpfs (the server's home, TOOLHUB_HOME)."""
    scratch_mb: int = 512
    as_root: bool = os.geteuid() == 0

    def command(self, worker: Sequence[str], *, readable: Iterable[Path], allow_network: bool) -> list[str]:
        """`worker` (interpreter and arguments) wrapped in bubblewrap; `readable` stays visible to every call."""
        args = [
            str(self.bwrap),
            "--die-with-parent",
            "--new-session",
            "--unshare-pid",
            "--unshare-ipc",
            "--unshare-uts",
            "--unshare-cgroup-try",
        ]
        if not allow_network:
            args.append("--unshare-net")
        if self.as_root:
            args += ["--cap-drop", "ALL"]
            for capability in _WORKER_CAPABILITIES:
                args += ["--cap-add", capability]
        else:
            args += ["--unshare-user", "--disable-userns"]
        args += ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
        args += self._mounts({path.resolve() for path in readable})
        return [*args, "--chdir", str(SCRATCH), "--", *worker]

    def _mounts(self, readable: set[Path]) -> list[str]:
        """tmpfs and bind mounts ordered parents first, then permissions for the directories bwrap created."""
        hidden = {path.resolve() for path in self.hidden if path.exists() and path.resolve() != Path("/")}
        if self.as_root:  # the calls' uids must be able to walk down to everything they read
            hidden |= {closed for path in readable if (closed := _first_closed_ancestor(path)) is not None}
        mounts: list[tuple[int, int, list[str]]] = [
            (len(SCRATCH.parts), 0, ["--perms", "0711", "--size", str(self.scratch_mb << 20), "--tmpfs", str(SCRATCH)])
        ]
        mounts += [(len(path.parts), 0, ["--tmpfs", str(path)]) for path in hidden if path != SCRATCH]
        covered = hidden | {SCRATCH}
        created: set[Path] = set()
        for path in readable:
            cover = max((c for c in covered if path.is_relative_to(c)), key=lambda c: len(c.parts), default=None)
            if cover is None:
                continue
            mounts.append((len(path.parts), 1, ["--ro-bind", str(path), str(path)]))
            created |= {parent for parent in path.parents if parent.is_relative_to(cover) and parent != cover}
        args = [arg for _, _, op in sorted(mounts, key=lambda m: m[:2]) for arg in op]
        for directory in sorted(created, key=lambda p: len(p.parts)):
            args += ["--chmod", "0755", str(directory)]
        return args


def find_bwrap() -> Path | None:
    found = shutil.which("bwrap")
    return Path(found) if found else None


async def works(confinement: Confinement) -> bool:
    """Whether bubblewrap can set up this confinement here (it cannot in some containers)."""
    true = shutil.which("true") or "/bin/true"
    process = await asyncio.create_subprocess_exec(
        *confinement.command([true], readable=(), allow_network=False),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    return await process.wait() == 0


def _first_closed_ancestor(path: Path) -> Path | None:
    """The highest directory above `path` that others may not enter (such as /root), if any."""
    for ancestor in reversed(path.parents):
        if not os.stat(ancestor).st_mode & 0o001:
            return ancestor
    return None
