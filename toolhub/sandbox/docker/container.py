"""One hardened sandbox container: how it is created, started with its runner attached, and removed.

Hardening, all by default: no network (a sandbox config may grant toolhub's fenced network of `network.py`,
with IPv6 off), a read-only root, a size-capped tmpfs on /tmp that is the only writable place (and no /dev/shm),
every capability dropped but the few the runner needs to hand each call its own unprivileged uid, no-new-privileges,
no POSIX message queues, a pids limit, memory and CPU limits, no log driver (tool output never lands on the engine's
disk), an init process that reaps what calls leave, and no host mount except an opt-in read-only sandbox_dir. The
container's environment and command line hold no secret: a call's variables travel over the attach stream with the
call (see `stream.py`), so `docker inspect` never shows them.

Tool code never runs as root here: the runner (root in the container, with only CHOWN, DAC_OVERRIDE, FOWNER, KILL,
SETUID and SETGID) forks each call, which drops to a uid of its own and loses every capability before the tool's
code is loaded, exactly as the local sandbox does under bubblewrap.

Every container is labelled with the instance id of the server that made it. At start-up a server removes the
containers of its own id that no live server uses (see `InstanceLock`), and never another server's.
"""

import fcntl
import json
import os
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from toolhub.sandbox.docker.engine import DockerSandboxError, call, is_gone
from toolhub.sandbox.docker.image import PYTHON, RUNNER, VENV
from toolhub.sandbox.docker.network import CONTAINER_SYSCTLS
from toolhub.sandbox.docker.stream import ContainerProcess, take_socket
from toolhub.sandbox.worker import WorkerProcess

if TYPE_CHECKING:
    import socket

    from docker import DockerClient

OWNER_LABEL = "org.toolhub.owner"
"""The instance id of the server that made a container: only that server removes it as a leftover."""
SCRATCH = "/tmp"
CALL_SLOTS = 8
"""Calls a container's runner can hold. One runs at a time, but a call's slot (and uid) is freed only once its
processes are gone, which may be after the next call has arrived."""
SPARES = 1
"""Children the runner keeps forked and warm; one call at a time needs one."""
PIDS_HEADROOM = 16
"""Processes beyond a call's own limit: the runner, its spare child and a cancelled call's remains, so a call
that hits its limit fails alone and the runner can still fork."""
WORKER_CAPABILITIES = ("CHOWN", "DAC_OVERRIDE", "FOWNER", "KILL", "SETUID", "SETGID")
_PATH = f"{VENV}/bin:/usr/local/bin:/usr/bin:/bin"


@dataclass(frozen=True, kw_only=True)
class ContainerSpec:
    """Everything a container of one pool is made from; containers of one spec are interchangeable."""

    image: str
    memory_mb: int
    """For the whole container: the call's own limit plus the runner's headroom."""
    cpus: float
    pids_limit: int
    """For the whole container: see PIDS_HEADROOM."""
    network: str | None
    """The Docker network to join (toolhub's fenced one, ready before the container starts), or None for none."""
    tmp_mb: int
    sandbox_dir: Path | None
    """Mounted read-only at the same path, so that tools see the paths they were written for."""
    preload: tuple[str, ...]
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(kw_only=True, eq=False)
class SandboxContainer:
    """A running container and the runner attached to it (compared and hashed by identity)."""

    id: str
    process: ContainerProcess
    worker: WorkerProcess
    started_at: float = field(default_factory=time.monotonic)
    calls: int = 0


async def start(client: "DockerClient", spec: ContainerSpec, uid_base: int) -> SandboxContainer:
    """Create and start a container and wait until its runner is ready.

    `uid_base` is the first of the CALL_SLOTS uids its calls run as; process limits count per uid across the
    whole machine, so no two containers may share one.

    Raises:
        SandboxError: the engine refused, or the runner did not start (the container is removed).
    """
    container_id, sock = await call("start a sandbox container", _create_attached, client, spec, uid_base)
    try:
        process = await ContainerProcess.connect(sock)
        worker = await WorkerProcess.attach(process)  # type: ignore[arg-type]  # the subprocess surface it uses
    except BaseException as exc:
        sock.close()
        await remove(client, container_id)
        if isinstance(exc, OSError):
            raise DockerSandboxError(f"could not attach to a sandbox container: {exc}") from None
        raise
    return SandboxContainer(id=container_id, process=process, worker=worker)


async def stop(client: "DockerClient", container: SandboxContainer) -> None:
    """Remove the container at once (a call still in it ends with an error) and let its runner's stream close."""
    await remove(client, container.id)
    await container.worker.close()


async def remove(client: "DockerClient", container_id: str) -> None:
    await call("remove a sandbox container", _remove, client, container_id)


async def remove_owned(client: "DockerClient", owner: str) -> int:
    """Remove every container labelled with `owner`; how many there were. Only for a server that holds
    `InstanceLock.sole()`: any of them might be a busy container of another live server otherwise."""
    mine = {"label": f"{OWNER_LABEL}={owner}"}
    found = await call("list sandbox containers", client.api.containers, all=True, quiet=True, filters=mine)
    for entry in found:
        await remove(client, entry["Id"])
    return len(found)


class InstanceLock:
    """Tells whether any other live server shares this server's instance id, and so its containers' label.

    The locks are files in the server's work dir (TOOLHUB_HOME/docker), so they see the servers of one home. The
    first live server of an id holds `instance-<id>.lock` exclusively for its lifetime; every other live server of
    the same id (a second server in the same home) holds `instance-<id>.users.lock` shared instead. Only the holder
    removes leftovers, and only while it can take the users lock exclusively: then no other server of the id is
    alive, and every container with the id's label is an orphan. Locks of dead processes vanish with them, so a
    restarted server finds the way clear.
    """

    def __init__(self, directory: Path, owner: str) -> None:
        """Blocks while the holder removes leftovers, when this server is not the holder: call it in a thread."""
        directory.mkdir(parents=True, exist_ok=True)
        self._instance = _lock_file(directory / f"instance-{owner}.lock")
        self._users = _lock_file(directory / f"instance-{owner}.users.lock")
        self._fds = (self._instance, self._users)
        self.holder = _try_lock(self._instance, fcntl.LOCK_EX)
        if not self.holder:
            fcntl.flock(self._users, fcntl.LOCK_SH)

    @contextmanager
    def sole(self) -> Iterator[str | None]:
        """For the block: None when this is the only live server of its id, else why another one may be."""
        if not self.holder:
            yield "another live server with this instance id started first and holds its lock"
        elif not _try_lock(self._users, fcntl.LOCK_EX):
            yield "another live server with this instance id started while this one's predecessor was running"
        else:
            try:
                yield None
            finally:
                fcntl.flock(self._users, fcntl.LOCK_UN)

    def release(self) -> None:
        """Give up both locks (closing a file releases its lock); a second call does nothing."""
        fds, self._fds = self._fds, ()
        for fd in fds:
            os.close(fd)


def _lock_file(path: Path) -> int:
    return os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)


def _try_lock(fd: int, operation: int) -> bool:
    try:
        fcntl.flock(fd, operation | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _create_attached(client: "DockerClient", spec: ContainerSpec, uid_base: int) -> tuple[str, "socket.socket"]:
    """Create, attach, then start: attaching first means not a byte of the runner's output can be missed."""
    container_id = client.api.create_container(**_create_args(client, spec, uid_base))["Id"]
    try:
        sock = take_socket(
            client.api.attach_socket(container_id, params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1})
        )
        try:
            client.api.start(container_id)
        except BaseException:
            sock.close()
            raise
    except BaseException:
        _remove(client, container_id)
        raise
    return container_id, sock


def _create_args(client: "DockerClient", spec: ContainerSpec, uid_base: int) -> dict[str, Any]:
    runner_config = {
        "scratch": SCRATCH,
        "uid_base": uid_base,
        "slots": CALL_SLOTS,
        "spares": SPARES,
        "preload": list(spec.preload),
    }
    mounts = {str(spec.sandbox_dir): {"bind": str(spec.sandbox_dir), "mode": "ro"}} if spec.sandbox_dir else None
    host_config = client.api.create_host_config(
        network_mode=spec.network or "none",
        sysctls=CONTAINER_SYSCTLS if spec.network else None,
        read_only=True,
        tmpfs={SCRATCH: f"rw,nosuid,nodev,noexec,size={spec.tmp_mb}m,mode=0711"},
        ipc_mode="none",  # no /dev/shm: the tmpfs is the only writable place
        # No POSIX message queues: they outlive the call that made them (the runner removes only System V objects),
        # and the runner cannot raise a hard limit without CAP_SYS_RESOURCE.
        ulimits=[{"Name": "msgqueue", "Soft": 0, "Hard": 0}],
        cap_drop=["ALL"],
        cap_add=list(WORKER_CAPABILITIES),
        security_opt=["no-new-privileges"],
        pids_limit=spec.pids_limit,
        mem_limit=f"{spec.memory_mb}m",
        memswap_limit=f"{spec.memory_mb}m",
        nano_cpus=int(spec.cpus * 1e9),
        binds=mounts,
        log_config={"type": "none"},
        init=True,  # the engine's tiny init is PID 1 and reaps what calls orphan, which would count against their uid
        auto_remove=True,  # a container whose runner exits (its server gone, its stdin closed) removes itself
    )
    return {
        "image": spec.image,
        "command": [str(PYTHON), "-I", "-B", str(RUNNER), json.dumps(runner_config)],
        "user": "0:0",
        "working_dir": SCRATCH,
        "environment": {"PATH": _PATH, "LANG": "C.UTF-8"},
        "labels": dict(spec.labels),
        "stdin_open": True,  # with detach=False the SDK also sets StdinOnce: our closing stdin ends the runner
        "tty": False,
        "use_config_proxy": False,
        "host_config": host_config,
    }


def _remove(client: "DockerClient", container_id: str) -> None:
    import docker.errors

    try:
        client.api.remove_container(container_id, force=True)
    except docker.errors.APIError as exc:
        if not is_gone(exc):
            raise
