"""Resource limits, privilege drop and system-call filter that a forked tool-call child applies to itself before
tool code runs, and the clean-up of what a call's uid leaves behind.

Runs inside the sandbox (loaded by `runner.py` by file path): standard library only, no toolhub imports.
"""

import ctypes
import math
import os
import platform
import resource
import signal
import struct
import time

_MIB = 1024 * 1024
_PR_SET_NO_NEW_PRIVS = 38
_PR_SET_SECCOMP = 22
_SECCOMP_MODE_FILTER = 2
_RET_ALLOW = 0x7FFF0000
_RET_KILL_PROCESS = 0x80000000
_RET_ERRNO = 0x00050000
_EPERM, _ENOSYS = 1, 38
_NEW_NAMESPACES = 0x7E020000
"""CLONE_NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET: clone() may not make namespaces."""
_DENIED = (
    "ptrace", "process_vm_readv", "process_vm_writev", "unshare", "setns", "mount", "umount2", "pivot_root",
    "chroot", "keyctl", "add_key", "request_key", "bpf", "perf_event_open", "userfaultfd", "kexec_load",
    "init_module", "finit_module", "delete_module", "open_by_handle_at", "name_to_handle_at", "open_tree",
    "move_mount", "fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr", "io_uring_setup", "acct", "swapon",
    "swapoff", "reboot", "syslog", "quotactl",
)  # fmt: skip
"""What tools never need and sandbox escapes are made of: tracing other processes, namespaces and mounts, the
kernel keyring, BPF, loading kernel code, io_uring (which bypasses this filter for the work it queues)."""
_ARCHES = {
    # machine: (AUDIT_ARCH_*, {syscall: number})
    "x86_64": (0xC000003E, {
        "ptrace": 101, "process_vm_readv": 310, "process_vm_writev": 311, "unshare": 272, "setns": 308,
        "mount": 165, "umount2": 166, "pivot_root": 155, "chroot": 161, "keyctl": 250, "add_key": 248,
        "request_key": 249, "bpf": 321, "perf_event_open": 298, "userfaultfd": 323, "kexec_load": 246,
        "init_module": 175, "finit_module": 313, "delete_module": 176, "open_by_handle_at": 304,
        "name_to_handle_at": 303, "acct": 163, "swapon": 167, "swapoff": 168, "reboot": 169, "syslog": 103,
        "quotactl": 179, "clone": 56, "clone3": 435,
    }),
    "aarch64": (0xC00000B7, {
        "ptrace": 117, "process_vm_readv": 270, "process_vm_writev": 271, "unshare": 97, "setns": 268,
        "mount": 40, "umount2": 39, "pivot_root": 41, "chroot": 51, "keyctl": 219, "add_key": 217,
        "request_key": 218, "bpf": 280, "perf_event_open": 241, "userfaultfd": 282, "kexec_load": 104,
        "init_module": 105, "finit_module": 273, "delete_module": 106, "open_by_handle_at": 265,
        "name_to_handle_at": 264, "acct": 89, "swapon": 224, "swapoff": 225, "reboot": 142, "syslog": 116,
        "quotactl": 60, "clone": 220, "clone3": 435,
    }),
}  # fmt: skip
_NEW_MOUNT_API = {"open_tree": 428, "move_mount": 429, "fsopen": 430, "fsconfig": 431, "fsmount": 432,
                  "fspick": 433, "io_uring_setup": 425, "mount_setattr": 442}  # fmt: skip
"""Numbered alike on every architecture (added after the tables were unified)."""


def prepare() -> int:
    """What a warm spare does before its call arrives, off the call's path: install the system-call filter (it
    allows everything `apply` still does) and measure the address space the spare already has. Returns that."""
    deny_dangerous_syscalls()
    return _address_space_in_use()


def apply(limits: dict, uid: int | None, address_space: int) -> None:
    """Cap this process and everything it starts, then give up root for `uid` if one is given.

    The memory cap is counted on top of `address_space`, what the warm spare had (see `prepare`), so `memory_mb`
    is what the tool itself may allocate, whatever the worker preloaded.
    """
    cpu_s = limits.get("cpu_s") or math.ceil(limits["timeout_s"]) + 1
    _set(resource.RLIMIT_AS, address_space + limits["memory_mb"] * _MIB)
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


def deny_dangerous_syscalls() -> None:
    """Install a seccomp filter (after no_new_privs, so it needs no privilege) that answers EPERM to `_DENIED`
    and to clone() asking for new namespaces, ENOSYS to clone3() (whose flags it cannot inspect; libc then falls
    back to clone()), and kills a process that uses another architecture's system calls to get around it."""
    if _FILTER is None:
        raise OSError(f"no system-call filter for {platform.machine()}: refusing to run the tool unfiltered")
    libc = ctypes.CDLL(None, use_errno=True)
    buffer = ctypes.create_string_buffer(_FILTER)
    fprog = struct.pack("HxxxxxxQ", len(_FILTER) // 8, ctypes.addressof(buffer))  # struct sock_fprog
    if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS) failed")
    if libc.prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.c_char_p(fprog), 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_SECCOMP) failed")


def _build_filter() -> bytes | None:
    """The filter for this machine, built once when the runner loads this module (before it forks)."""
    if platform.machine() not in _ARCHES:
        return None
    arch, numbers = _ARCHES[platform.machine()]
    numbers = {**_NEW_MOUNT_API, **numbers}
    return _filter_program(arch, [numbers[name] for name in _DENIED], numbers["clone"], numbers["clone3"])


def _filter_program(arch: int, denied: list[int], clone: int, clone3: int) -> bytes:
    """Classic BPF over `struct seccomp_data` {int nr; u32 arch; u64 ip; u64 args[6]}."""
    ld, jeq, jset, ret = 0x20, 0x15, 0x45, 0x06  # BPF_LD|W|ABS, BPF_JMP|JEQ|K, BPF_JMP|JSET|K, BPF_RET|K
    # Layout: arch check, load nr, x32 check, one test per denied call and for clone/clone3, allow, then the verdicts.
    tests = [(number, "deny") for number in denied] + [(clone3, "enosys"), (clone, "clone")]
    body_end = 5 + len(tests)  # index of the "allow" return
    verdicts = {"allow": body_end, "deny": body_end + 1, "enosys": body_end + 2, "kill": body_end + 3,
                "clone": body_end + 4}  # fmt: skip
    code = [(ld, 0, 0, 4)]
    code.append((jeq, 1, 0, arch))
    code.append((0x05, 0, 0, verdicts["kill"] - 3))  # BPF_JMP|JA: another architecture
    code.append((ld, 0, 0, 0))
    code.append((0x35, verdicts["kill"] - 5, 0, 0x40000000))  # BPF_JMP|JGE: x32 system calls on x86_64
    for number, verdict in tests:
        here = len(code)
        code.append((jeq, verdicts[verdict] - here - 1, 0, number))
    code += [
        (ret, 0, 0, _RET_ALLOW),
        (ret, 0, 0, _RET_ERRNO | _EPERM),
        (ret, 0, 0, _RET_ERRNO | _ENOSYS),
        (ret, 0, 0, _RET_KILL_PROCESS),
        (ld, 0, 0, 16),  # clone: the low half of args[0], its flags
        (jset, 0, 1, _NEW_NAMESPACES),
        (ret, 0, 0, _RET_ERRNO | _EPERM),
        (ret, 0, 0, _RET_ALLOW),
    ]
    assert len(code) == verdicts["clone"] + 4
    return b"".join(struct.pack("HBBI", *instruction) for instruction in code)


def kill_everything_of_mine(wait_s: float = 2.0) -> None:
    """SIGKILL every other process of this uid in this PID namespace (a call's uid is its own while it runs),
    and wait until they are gone, so that the next call with this uid starts with its whole process quota; then
    remove the System V shared memory, semaphores and message queues it made, so the next call of the slot (which
    reuses the uid) finds nothing of this one and no memory stays held."""
    deadline = time.monotonic() + wait_s
    _kill_all()  # first, blind: a process made non-dumpable hides its owner in /proc
    while _others_alive(os.getuid()) and time.monotonic() < deadline:
        time.sleep(0.001)
        _kill_all()
    remove_my_ipc_objects()


def remove_my_ipc_objects() -> None:
    """IPC_RMID every System V object this uid owns or created in this IPC namespace."""
    me = os.getuid()
    libc = None
    for kind, remove in (("shm", "shmctl"), ("sem", "semctl"), ("msg", "msgctl")):
        try:
            with open(f"/proc/sysvipc/{kind}") as table:
                header, *rows = table.read().splitlines()
        except OSError:
            continue
        columns = header.split()
        for row in rows:
            fields = dict(zip(columns, row.split()))
            if me in (int(fields.get("uid", -1)), int(fields.get("cuid", -1))):
                libc = libc or ctypes.CDLL(None, use_errno=True)
                object_id = int(fields["shmid" if kind == "shm" else "semid" if kind == "sem" else "msqid"])
                if kind == "sem":
                    libc.semctl(object_id, 0, 0)  # IPC_RMID
                else:
                    getattr(libc, remove)(object_id, 0, None)


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


_FILTER = _build_filter()
