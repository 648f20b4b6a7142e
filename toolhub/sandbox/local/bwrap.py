"""The bubblewrap command line that confines a local worker, and the user namespace it runs in.

What a worker sees: the system's programs and libraries (/usr and its /bin, /lib links), the few files of /etc that
name resolution, time zones and TLS need, the interpreter, its virtualenv and the runner (read-only), an opt-in
sandbox_dir (read-only), fresh /dev and /proc, and a size-capped tmpfs at /tmp where each call gets its own working
directory. Nothing else of the host: not /run or /var (no Docker or PostgreSQL socket), not the server's home or
TOOLHUB_HOME (no database, no other virtualenv), not /root. It has its own PID, IPC and UTS namespaces, and no
network unless asked.

Who a worker is: root of a user namespace (see `launcher.py`) whose ids 0..n are unprivileged host ids. It
keeps only the capabilities it needs to run each call as a namespace uid of its own (see `runner.py`), and those
capabilities reach nothing of the host. That takes a server running as root; without root there is no way to give
calls separate uids, so the local sandbox refuses to run rather than pretend (see `unavailable_reason`).
"""

import asyncio
import json
import os
import shutil
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

SCRATCH = Path("/tmp")
"""Where the tmpfs for call directories is mounted inside the sandbox."""
LAUNCHER = Path(__file__).with_name("launcher.py")
_WORKER_CAPABILITIES = ("CAP_SETUID", "CAP_SETGID", "CAP_CHOWN", "CAP_KILL", "CAP_DAC_OVERRIDE", "CAP_FOWNER")
_SYSTEM_DIRS = ("bin", "lib", "lib32", "lib64", "libx32", "sbin")
"""Top-level directories that hold programs and libraries; on a merged-/usr system they are links into /usr."""
_ETC_FILES = (
    "resolv.conf", "hosts", "nsswitch.conf", "host.conf", "gai.conf", "localtime", "timezone", "ssl",
    "ca-certificates", "mime.types",
)  # fmt: skip
"""What tools may need of /etc: name resolution, time zone, TLS roots. Not passwd, shadow or anything else."""


@dataclass(frozen=True, kw_only=True)
class Confinement:
    bwrap: Path
    scratch_mb: int = 512

    def command(
        self,
        worker: Sequence[str],
        *,
        readable: Iterable[Path],
        allow_network: bool,
        uid_base: int,
        ids: int,
        writable: Iterable[Path] = (),
    ) -> list[str]:
        """`worker` (interpreter and arguments) confined, as root of a user namespace whose `ids` ids start at
        host uid `uid_base`; `readable` stays visible (read-only) to every call, `writable` read-write (for a
        virtualenv being byte-compiled, which must belong to `uid_base` then)."""
        visible = sorted({Path(os.path.realpath(path)) for path in readable}, key=lambda p: len(p.parts))
        rw = sorted({Path(os.path.realpath(path)) for path in writable}, key=lambda p: len(p.parts))
        args = [
            str(self.bwrap),
            "--die-with-parent",
            "--new-session",
            "--unshare-pid",
            "--unshare-ipc",
            "--unshare-uts",
            "--unshare-cgroup-try",
            *([] if allow_network else ["--unshare-net"]),
            "--cap-drop",
            "ALL",
            *(arg for capability in _WORKER_CAPABILITIES for arg in ("--cap-add", capability)),
            *_system_view(),
            "--dev",
            "/dev",
            "--proc",
            "/proc",
            *("--perms", "0711", "--size", str(self.scratch_mb << 20), "--tmpfs", str(SCRATCH)),
            *(arg for path in visible for arg in ("--ro-bind", str(path), str(path))),
            *(arg for path in rw for arg in ("--bind", str(path), str(path))),
            *(arg for directory in _created_parents([*visible, *rw]) for arg in ("--chmod", "0755", str(directory))),
            "--chdir",
            str(SCRATCH),
            "--",
            *worker,
        ]
        spec = {"uid_base": uid_base, "count": ids, "reveal": [str(path) for path in [*visible, *rw]], "argv": args}
        return [sys.executable, "-I", "-S", "-B", str(LAUNCHER), json.dumps(spec)]


def _system_view() -> list[str]:
    args = ["--ro-bind", "/usr", "/usr"]
    for name in _SYSTEM_DIRS:
        path = Path("/") / name
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            args += ["--ro-bind", str(path), str(path)]
    for name in _ETC_FILES:
        args += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
    return args


def _created_parents(paths: list[Path]) -> list[Path]:
    """The directories bubblewrap creates to hold mount points (mode 0700 by default), which every call's uid must
    be able to walk through: those above a path that no other mount already provides."""
    mounted = [Path("/usr"), *paths]
    created = {
        parent
        for path in paths
        for parent in path.parents
        if parent != Path("/") and parent != SCRATCH and not any(parent.is_relative_to(m) for m in mounted)
    }
    return sorted(created, key=lambda p: len(p.parts))


def find_bwrap() -> Path | None:
    found = shutil.which("bwrap")
    return Path(found) if found else None


def unavailable_reason() -> str | None:
    """Why workers cannot be confined here, or None when they can be (root and bubblewrap)."""
    if os.geteuid() != 0:
        return (
            "the local sandbox needs the server to run as root: only root can give each tool call its own uid "
            "in a user namespace, and without that, calls could read each other's memory and kill the worker "
            "(run the server as root, or use the docker sandbox: TOOLHUB_SANDBOX=docker)"
        )
    if find_bwrap() is None:
        return "the local sandbox needs bubblewrap (install the bubblewrap package), or use TOOLHUB_SANDBOX=docker"
    return None


async def works(confinement: Confinement, uid_base: int) -> str | None:
    """None when bubblewrap can set up this confinement here, else what went wrong (it cannot in some containers)."""
    true = "/usr/bin/true" if Path("/usr/bin/true").exists() else "/bin/true"
    process = await asyncio.create_subprocess_exec(
        *confinement.command([true], readable=(), allow_network=False, uid_base=uid_base, ids=1),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        env={"PATH": os.defpath},
    )
    _, stderr = await process.communicate()
    if process.returncode == 0:
        return None
    return stderr.decode(errors="replace").strip() or f"bubblewrap exited with status {process.returncode}"
