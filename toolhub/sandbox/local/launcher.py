"""Start a command as root of a new user namespace whose ids map onto a range of unprivileged host ids.

Run by the server, as real root, as `python -I -S -B launcher.py SPEC_JSON`, where the spec holds
`uid_base`, `count`, `reveal` (paths the command must be able to read) and `argv` (the command, bubblewrap).
Standard library only, and run with `-S`, so nothing but this file and the standard library executes as host root.

Why: a sandbox worker must switch each call to a uid of its own, which needs CAP_SETUID. Held as host root, that
capability comes with every file on the host (DAC_OVERRIDE, sockets such as the Docker engine's). Inside a user
namespace whose root is host uid `uid_base`, the worker keeps the capabilities it needs over its own processes
and its own tmpfs, and none over anything of the host: host files are owned by ids that do not exist in the
namespace, so no capability overrides their permissions.

Steps, in this order because each needs the privilege the next one gives up:
  1. open every path to reveal (as host root, which may walk through closed directories such as /root);
  2. in a private mount namespace, cover each closed directory above them with a tmpfs and bind the paths back,
     so that an unprivileged id can reach them (and nothing else that was under the closed directory);
  3. create the user namespace in a helper child, write its id maps from here, and join it;
  4. become the namespace's root (host `uid_base`) with no supplementary groups, and exec the command.
"""

import ctypes
import json
import os
import signal
import sys
from pathlib import Path

CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
MS_BIND = 0x1000
MS_REC = 0x4000
MS_PRIVATE = 0x40000
PR_SET_PDEATHSIG = 1

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_void_p]


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    encoded = [None if part is None else part.encode() for part in (source, target, fstype)]
    options = None if data is None else ctypes.c_char_p(data.encode())
    _check(_libc.mount(*encoded, flags, options), f"mount {target}")


def first_closed_ancestor(path: Path) -> Path | None:
    """The highest directory above `path` that others may not enter (such as /root), if any."""
    for ancestor in reversed(path.parents):
        if not os.stat(ancestor).st_mode & 0o001:
            return ancestor
    return None


def reveal(paths: list[Path]) -> None:
    """Make each path reachable by unprivileged ids in this process's (new, private) mount namespace."""
    covers: dict[Path, list[Path]] = {}
    for path in paths:
        closed = first_closed_ancestor(path)
        if closed is not None:
            covers.setdefault(closed, []).append(path)
    if not covers:
        return
    _check(_libc.unshare(CLONE_NEWNS), "unshare(CLONE_NEWNS)")
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    # Opened in the new mount namespace (a bind's source must be in it), before a cover hides them.
    held = {path: os.open(path, os.O_PATH) for path in paths}
    for cover, inside in covers.items():
        _mount("tmpfs", str(cover), "tmpfs", 0, "mode=0755,size=64k")
        for path in inside:
            if os.path.isdir(f"/proc/self/fd/{held[path]}"):
                os.makedirs(path, mode=0o755, exist_ok=True)
            else:
                os.makedirs(path.parent, mode=0o755, exist_ok=True)
                Path(path).touch()
            _mount(f"/proc/self/fd/{held[path]}", str(path), None, MS_BIND | MS_REC)
    for fd in held.values():
        os.close(fd)


def enter_user_namespace(uid_base: int, count: int) -> None:
    """Join a new user namespace where ids 0..count-1 are host ids uid_base.., as its root, without groups."""
    ready_read, ready_write = os.pipe()
    done_read, done_write = os.pipe()
    holder = os.fork()
    if holder == 0:  # holds the namespace open while the maps are written and the parent joins it
        os.close(ready_read)
        os.close(done_write)
        try:
            if _libc.unshare(CLONE_NEWUSER) == 0:
                os.write(ready_write, b"1")
                os.read(done_read, 1)
        finally:
            os._exit(0)
    os.close(ready_write)
    os.close(done_read)
    try:
        if os.read(ready_read, 1) != b"1":
            raise OSError("could not create a user namespace (are user namespaces disabled here?)")
        for name in ("uid_map", "gid_map"):
            with open(f"/proc/{holder}/{name}", "w") as id_map:
                id_map.write(f"0 {uid_base} {count}\n")
        namespace = os.open(f"/proc/{holder}/ns/user", os.O_RDONLY)
        try:
            _check(_libc.setns(namespace, CLONE_NEWUSER), "setns(user namespace)")
        finally:
            os.close(namespace)
    finally:
        os.close(done_write)
        os.waitpid(holder, 0)
    os.setgroups([])
    os.setresgid(0, 0, 0)
    os.setresuid(0, 0, 0)


def main() -> None:
    spec = json.loads(sys.argv[1])
    reveal([Path(path) for path in spec["reveal"]])
    enter_user_namespace(spec["uid_base"], spec["count"])
    _check(_libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "prctl(PR_SET_PDEATHSIG)")
    argv = spec["argv"]
    os.execv(argv[0], argv)


if __name__ == "__main__":
    try:
        main()
    except OSError as exc:
        print(f"toolhub sandbox launcher: {exc}", file=sys.stderr)
        sys.exit(71)
