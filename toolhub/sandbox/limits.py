"""Resource limits and privilege drop that a forked tool-call child applies to itself before tool code runs.

Runs inside the sandbox (loaded by `runner.py` by file path): standard library only, no toolhub imports.
"""

import math
import os
import resource
import signal
import time

_MIB = 1024 * 1024


def apply(limits: dict, uid: int | None) -> None:
    """Cap this process and everything it starts, then give up root for `uid` if one is given.

    The memory cap is counted on top of the address space the warm worker already had when it forked, so
    `memory_mb` is what the tool itself may allocate, whatever the worker preloaded.
    """
    cpu_s = limits.get("cpu_s") or math.ceil(limits["timeout_s"]) + 1
    _set(resource.RLIMIT_AS, _address_space_in_use() + limits["memory_mb"] * _MIB)
    # Soft limit first so the tool dies of SIGXCPU (reported as a CPU timeout); the hard limit backs it up.
    _set(resource.RLIMIT_CPU, cpu_s, hard=cpu_s + 1)
    _set(resource.RLIMIT_NPROC, limits["max_processes"])
    _set(resource.RLIMIT_FSIZE, limits["max_file_mb"] * _MIB)
    _set(resource.RLIMIT_NOFILE, limits["max_open_files"])
    _set(resource.RLIMIT_CORE, 0)
    if uid is not None:
        drop_to(uid)


def drop_to(uid: int) -> None:
    """Become `uid` (and its own group) for good; from root, this also ends every capability."""
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)


def kill_everything_of_mine(wait_s: float = 2.0) -> None:
    """SIGKILL every other process of this uid in this PID namespace (a call's uid is its own while it runs),
    and wait until they are gone, so that the next call with this uid starts with its whole process quota."""
    deadline = time.monotonic() + wait_s
    _kill_all()  # first, blind: a process made non-dumpable hides its owner in /proc
    while _others_alive(os.getuid()) and time.monotonic() < deadline:
        time.sleep(0.001)
        _kill_all()


def _kill_all() -> None:
    try:
        os.kill(-1, signal.SIGKILL)
    except ProcessLookupError:  # nothing else in this PID namespace at all
        pass


def _others_alive(uid: int) -> bool:
    """Whether another live process of `uid` is in /proc; zombies are dead already, only not yet reaped."""
    me = str(os.getpid())
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or entry.name == me:
            continue
        try:
            if entry.stat().st_uid == uid and _state(entry.name) != "Z":
                return True
        except (FileNotFoundError, ProcessLookupError):  # it ended while we looked
            continue
    return False


def _state(pid: str) -> str:
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().rpartition(")")[2].split()[0]


def _set(which: int, soft: int, hard: int | None = None) -> None:
    """Lower a limit; never above the inherited hard limit, which an unprivileged process cannot raise."""
    hard = soft if hard is None else hard
    _, current_hard = resource.getrlimit(which)
    if current_hard != resource.RLIM_INFINITY:
        hard = min(hard, current_hard)
        soft = min(soft, hard)
    resource.setrlimit(which, (soft, hard))


def _address_space_in_use() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
