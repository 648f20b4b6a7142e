"""A warm worker that runs every tool call in a fresh forked child.

Started as `python -I -B runner.py CONFIG_JSON` inside the sandbox (bubblewrap here, a container for the Docker
backend). It imports only the standard library and its two siblings, `limits.py` and `invoke.py`, which it loads
by file path, so that nothing of toolhub becomes importable by tool code.

Wire protocol, over the worker's stdin and stdout so that any byte stream can carry it:

    frame := 4-byte big-endian length, then that many bytes
    server -> worker   {"op": "run", "id", "timeout_s", "output_cap"} then one frame: the call, as JSON
                       {"op": "cancel", "id"}
                       end of input: stop every call and exit
    worker -> server   {"op": "ready", ...} once, then for each call
                       {"op": "done", "id", ...how it ended...} then three frames: result JSON, stdout, stderr

Processes: the dispatcher (this loop) never forks a call. At start it forks a zygote, which forks spare children
on request, lets them warm up, passes their pipes to the dispatcher and reports their exits; the dispatcher hands
each call to a waiting spare through the spare's control pipe. A call thus waits neither for a fork nor for
copy-on-write faults, and since the zygote never sees a call, no child inherits another call's arguments,
environment or output. Tool output goes to two pipes and the result to a third: printing cannot forge a result.
When the worker may switch uids (root in a sandbox), each call runs as a uid of its own, which makes the process
limit real and lets the worker kill everything a call left behind.
"""

import ctypes
import gc
import heapq
import importlib.util
import json
import os
import platform
import selectors
import shutil
import signal
import socket
import struct
import sys
import time
import traceback
from pathlib import Path
from types import ModuleType

FRAME = struct.Struct(">I")
MAX_FRAME_BYTES = 64 * 1024 * 1024
RESULT_CAP_BYTES = 16 * 1024 * 1024
_SPARE = struct.Struct("=ci")  # b"S", pid; the spare's four fds ride along
_EXIT = struct.Struct("=cii")  # b"X", pid, wait status
_KINDS = ("result", "stdout", "stderr")
_PR_SET_DUMPABLE = 4


class Capture:
    """Bytes read from one of a call's pipes, up to a cap; what comes after the cap is counted, not kept."""

    def __init__(self, fd: int, cap: int) -> None:
        self.fd = fd
        self.cap = cap
        self.data = bytearray()
        self.dropped = 0
        self.open = True

    def read(self) -> int:
        """Read once; 0 means end of file. Raises BlockingIOError when the pipe is empty."""
        chunk = os.read(self.fd, 65536)
        room = self.cap - len(self.data)
        self.data += chunk[:room]
        self.dropped += max(0, len(chunk) - room)
        return len(chunk)

    def drain(self) -> None:
        """Take what is already in the pipe without waiting for its other end to close."""
        try:
            while self.open and self.read():
                pass
        except BlockingIOError:
            pass


class Spare:
    """A warmed-up child waiting on its control pipe for the call it will run."""

    def __init__(self, pid: int, control_fd: int, pipes: dict[str, int]) -> None:
        self.pid = pid
        self.control_fd = control_fd
        self.pipes = pipes


class Call:
    """One tool call in flight: its child process and what it has written so far."""

    def __init__(self, call_id: int, spare: Spare, slot: int, uid: int | None, workdir: Path, message: dict) -> None:
        self.id = call_id
        self.pid = spare.pid
        self.slot = slot
        self.uid = uid
        self.workdir = workdir
        self.started = time.monotonic()
        self.deadline = self.started + message["timeout_s"]
        self.captures = {
            kind: Capture(fd, RESULT_CAP_BYTES if kind == "result" else message["output_cap"])
            for kind, fd in spare.pipes.items()
        }
        self.timed_out = False
        self.cancelled = False
        self.reported = False

    def harness_finished(self) -> bool:
        """The harness wrote a result and closed every pipe: what is left of the child is only its exit."""
        return bool(self.captures["result"].data) and not any(c.open for c in self.captures.values())


class Dispatcher:
    """The worker's single-threaded loop: requests in, calls handed to spares, outcomes and exits in, results out."""

    def __init__(self, config: dict, proto_in: int, proto_out: int, zygote: socket.socket, limits: ModuleType) -> None:
        self.scratch = Path(config["scratch"])
        self.uid_base: int | None = config.get("uid_base")
        self.free_slots = list(range(config["slots"]))
        self.spare_target: int = config["spares"]
        self.proto_in = proto_in
        self.proto_out = proto_out
        self.zygote = zygote
        self.limits = limits
        self.calls: dict[int, Call] = {}
        self.calls_by_pid: dict[int, Call] = {}
        self.spares: list[Spare] = []
        self.spares_requested = 0
        self.selector = selectors.DefaultSelector()
        self.sequence = 0

    def serve(self, ready: dict) -> None:
        self.selector.register(self.zygote, selectors.EVENT_READ, "zygote")
        self.selector.register(self.proto_in, selectors.EVENT_READ, "requests")
        self._order_spares()
        self._send({"op": "ready", "pid": os.getpid(), "python": platform.python_version(), **ready})
        while True:
            for key, _ in self.selector.select(self._seconds_to_next_deadline()):
                if key.data == "zygote":
                    if not self._on_zygote():
                        return self._shutdown()
                elif key.data == "requests":
                    if not self._on_request():
                        return self._shutdown()
                else:
                    self._on_output(*key.data)
            self._enforce_deadlines()
            self._order_spares()

    # ---- requests ----------------------------------------------------------------------------------------------

    def _on_request(self) -> bool:
        frame = read_frame(self.proto_in)
        if frame is None:
            return False
        message = json.loads(frame)
        if message["op"] == "run":
            payload = read_frame(self.proto_in)
            if payload is None:
                return False
            self._start(message, payload)
        elif message["op"] == "cancel" and message["id"] in self.calls:
            call = self.calls[message["id"]]
            call.cancelled = True
            _kill_group(call.pid)
        return True

    def _start(self, message: dict, payload: bytearray) -> None:
        if not self.free_slots:  # the server keeps fewer calls in flight than there are slots
            self._refuse(message["id"], "the sandbox worker has no free slot")
            return
        self.sequence += 1
        workdir = self.scratch / f"call-{self.sequence}"
        slot = heapq.heappop(self.free_slots)
        uid = None if self.uid_base is None else self.uid_base + slot
        try:
            workdir.mkdir(mode=0o700)
            if uid is not None:
                os.chown(workdir, uid, uid)
        except OSError as exc:  # e.g. the scratch tmpfs is full
            heapq.heappush(self.free_slots, slot)
            self._refuse(message["id"], f"no working directory for the call: {exc}")
            return
        order = json.dumps({"uid": uid, "workdir": str(workdir)}).encode()
        spare = self._hand_over([FRAME.pack(len(order)), order, FRAME.pack(len(payload)), payload])
        call = Call(message["id"], spare, slot, uid, workdir, message)
        for kind, capture in call.captures.items():
            self.selector.register(capture.fd, selectors.EVENT_READ, (call, kind))
        self.calls[call.id] = call
        self.calls_by_pid[call.pid] = call

    def _refuse(self, call_id: int, reason: str) -> None:
        self._send({"op": "done", "id": call_id, "refused": reason}, b"", b"", b"")

    def _hand_over(self, frames: list) -> Spare:
        """Give the call to a waiting spare (waiting for the zygote if none is ready); a dead one is skipped."""
        while True:
            while not self.spares:
                self._order_spares(at_least=1)
                if not self._on_zygote():
                    raise RuntimeError("the zygote stopped")
            spare = self.spares.pop(0)
            try:
                write_all(spare.control_fd, frames)
            except BrokenPipeError:
                self._discard(spare)
                continue
            os.close(spare.control_fd)
            return spare

    # ---- spares ------------------------------------------------------------------------------------------------

    def _order_spares(self, at_least: int = 0) -> None:
        missing = max(at_least, self.spare_target) - len(self.spares) - self.spares_requested
        if missing > 0:
            self.zygote.send(bytes([missing]))
            self.spares_requested += missing

    def _on_zygote(self) -> bool:
        """One message from the zygote: a new spare with its fds, or a child's exit. False once it is gone."""
        message, fds, _, _ = socket.recv_fds(self.zygote, _EXIT.size, len(_KINDS) + 1)
        if not message:
            return False
        if message[:1] == b"S":
            _, pid = _SPARE.unpack(message)
            control_fd, *pipe_fds = fds
            for fd in pipe_fds:
                os.set_blocking(fd, False)
            self.spares.append(Spare(pid, control_fd, dict(zip(_KINDS, pipe_fds, strict=True))))
            self.spares_requested -= 1
        else:
            _, pid, status = _EXIT.unpack(message)
            if pid in self.calls_by_pid:
                self._exited(self.calls_by_pid.pop(pid), status)
            else:  # a spare that died waiting
                self._forget_spare(pid)
        return True

    def _forget_spare(self, pid: int) -> None:
        for spare in [spare for spare in self.spares if spare.pid == pid]:
            self.spares.remove(spare)
            self._discard(spare)

    def _discard(self, spare: Spare) -> None:
        os.close(spare.control_fd)
        for fd in spare.pipes.values():
            os.close(fd)

    # ---- calls' output and exits -------------------------------------------------------------------------------

    def _on_output(self, call: Call, kind: str) -> None:
        capture = call.captures[kind]
        if not capture.open:  # closed by an earlier event of the same batch
            return
        try:
            if capture.read() == 0:
                self._close_capture(capture)
        except BlockingIOError:
            return
        if not call.reported and call.harness_finished():
            self._report(call, status=None)

    def _close_capture(self, capture: Capture) -> None:
        if capture.open:
            capture.open = False
            self.selector.unregister(capture.fd)
            os.close(capture.fd)

    def _exited(self, call: Call, status: int) -> None:
        """The call's child exited: report if the harness did not, then kill what it left and free its slot."""
        _kill_group(call.pid)
        if not call.reported:
            if call.uid is not None:
                self._kill_uid(call.uid)  # the harness did not get to do it
            self._report(call, status)
        heapq.heappush(self.free_slots, call.slot)
        del self.calls[call.id]

    def _report(self, call: Call, status: int | None) -> None:
        """Send the call's outcome; `status` is the wait status, None when the harness finished normally."""
        call.reported = True
        for capture in call.captures.values():
            capture.drain()
            self._close_capture(capture)
        result, stdout, stderr = (call.captures[kind] for kind in _KINDS)
        header = {
            "op": "done",
            "id": call.id,
            "duration_ms": (time.monotonic() - call.started) * 1000,
            "exit_code": os.WEXITSTATUS(status) if status is not None and os.WIFEXITED(status) else None,
            "signal": os.WTERMSIG(status) if status is not None and os.WIFSIGNALED(status) else None,
            "timed_out": call.timed_out,
            "cancelled": call.cancelled,
            "result_dropped": result.dropped,
            "stdout_dropped": stdout.dropped,
            "stderr_dropped": stderr.dropped,
        }
        self._send(header, bytes(result.data), bytes(stdout.data), bytes(stderr.data))
        shutil.rmtree(call.workdir, ignore_errors=True)  # before the next call can look for it

    def _kill_uid(self, uid: int) -> None:
        """Kill every process of a call's uid, including any that left the call's process group."""
        pid = os.fork()
        if pid == 0:
            try:
                self.limits.drop_to(uid)
                self.limits.kill_everything_of_mine()
            finally:
                os._exit(0)
        os.waitpid(pid, 0)

    def _seconds_to_next_deadline(self) -> float | None:
        pending = [call.deadline for call in self.calls.values() if not (call.timed_out or call.reported)]
        return max(0.0, min(pending) - time.monotonic()) if pending else None

    def _enforce_deadlines(self) -> None:
        now = time.monotonic()
        for call in self.calls.values():
            if not (call.timed_out or call.reported) and now >= call.deadline:
                call.timed_out = True
                _kill_group(call.pid)

    def _shutdown(self) -> None:
        """End of input (or a dead zygote): stop every call and spare; the zygote then reaps them and exits."""
        for spare in self.spares:
            self._discard(spare)  # end of file on its control pipe: it exits
        for call in self.calls.values():
            _kill_group(call.pid)
            if call.uid is not None:
                self._kill_uid(call.uid)
            shutil.rmtree(call.workdir, ignore_errors=True)
        self.zygote.shutdown(socket.SHUT_WR)
        while self.zygote.recv(_EXIT.size):  # until the zygote has reaped every child and gone
            pass

    def _send(self, header: dict, *bodies: bytes) -> None:
        encoded = json.dumps(header).encode()
        buffers = [FRAME.pack(len(encoded)), encoded]
        for body in bodies:
            buffers += [FRAME.pack(len(body)), body]
        write_all(self.proto_out, buffers)


class Zygote:
    """Forks warmed-up spares on request and reports their exits. It never sees a call, so no child does."""

    def __init__(self, channel: socket.socket, limits: ModuleType, invoke: ModuleType) -> None:
        self.channel = channel
        self.limits = limits
        self.invoke = invoke
        self.children = 0

    def serve(self) -> None:
        """Until the dispatcher stops ordering and every child has exited."""
        exits, wakeup = os.pipe()
        os.set_blocking(wakeup, False)
        signal.set_wakeup_fd(wakeup, warn_on_full_buffer=False)
        signal.signal(signal.SIGCHLD, lambda *_: None)  # only to wake the loop through `wakeup`
        selector = selectors.DefaultSelector()
        selector.register(self.channel, selectors.EVENT_READ, "orders")
        selector.register(exits, selectors.EVENT_READ, "exits")
        ordering = True
        while ordering or self.children:
            for key, _ in selector.select():
                if key.data == "exits":
                    os.read(exits, 4096)
                    self._report_exits()
                elif order := self.channel.recv(1):
                    for _ in range(order[0]):
                        self._fork_spare()
                else:
                    ordering = False
                    selector.unregister(self.channel)

    def _fork_spare(self) -> None:
        control_read, control_write = os.pipe()
        pipes = {kind: os.pipe() for kind in _KINDS}
        pid = os.fork()
        if pid == 0:
            run_spare(control_read, {kind: write_end for kind, (_, write_end) in pipes.items()}, self)
        self.children += 1
        socket.send_fds(self.channel, [_SPARE.pack(b"S", pid)], [control_write, *(r for r, _ in pipes.values())])
        for fd in (control_read, control_write, *(fd for pair in pipes.values() for fd in pair)):
            os.close(fd)

    def _report_exits(self) -> None:
        while self.children:
            pid, status = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                return
            self.children -= 1
            try:
                self.channel.send(_EXIT.pack(b"X", pid, status))
            except OSError:  # the dispatcher is gone; keep reaping
                pass


# ---- the spare, then the call's process ------------------------------------------------------------------------


def run_spare(control_fd: int, pipes: dict[str, int], zygote: Zygote) -> None:
    """Warm up, wait for a call, then become the call's process: session, fds, limits, uid, tool, result.

    Never returns.
    """
    try:
        signal.set_wakeup_fd(-1)  # the zygote's, whose fd is about to be closed
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        os.setsid()
        result_fd = _own_fds(pipes, control_fd)
        sys.stdout.reconfigure(line_buffering=True)
        os.environ.clear()  # the call brings its own; clearing now keeps it off the call's path
        zygote.invoke.warm_up()
        address_space = zygote.limits.prepare()
        order, payload = read_frame(control_fd), read_frame(control_fd)
        if payload is None:  # the worker stopped before it needed this spare
            os._exit(0)
        os.close(control_fd)
        order = json.loads(order)
        _run_call(json.loads(payload), Path(order["workdir"]), order["uid"], result_fd, zygote, address_space)
    except BaseException:  # a failure of the harness itself: say so on stderr, exit without a result
        traceback.print_exc()
        _flush_standard_streams()
        os._exit(70)


def _run_call(
    request: dict, workdir: Path, uid: int | None, result_fd: int, zygote: Zygote, address_space: int
) -> None:
    os.chdir(workdir)
    os.environ.update(request["env"])
    os.environ.setdefault("HOME", str(workdir))
    os.environ.setdefault("TMPDIR", str(workdir))
    zygote.limits.apply(request["limits"], uid, address_space)
    harness = os.getpid()
    result = zygote.invoke.run_tool(request)
    if os.getpid() != harness:  # a process the tool forked returned from it: only the harness reports
        os._exit(0)
    data = json.dumps(result, default=str).encode()
    _flush_standard_streams()
    # Closing every pipe once the result is in lets the worker report at once; what the call left behind (its
    # processes, its System V IPC objects) is cleaned up after that, off the caller's path but before this process
    # exits, which is when the worker gives the call's uid to another call.
    os.close(1)
    os.close(2)
    write_all(result_fd, [data])
    os.close(result_fd)
    if uid is not None:
        zygote.limits.kill_everything_of_mine()
    os._exit(0)


# ---- framing and process helpers -------------------------------------------------------------------------------


def read_frame(fd: int) -> bytearray | None:
    """One frame from a blocking fd, or None at end of input."""
    head = _read_exact(fd, FRAME.size)
    if head is None:
        return None
    (size,) = FRAME.unpack(head)
    if size > MAX_FRAME_BYTES:
        raise ValueError(f"frame of {size} bytes is over the {MAX_FRAME_BYTES}-byte limit")
    return _read_exact(fd, size)


def _read_exact(fd: int, size: int) -> bytearray | None:
    buffer = bytearray(size)
    view = memoryview(buffer)
    got = 0
    while got < size:
        n = os.readv(fd, [view[got:]])
        if n == 0:
            return None
        got += n
    return buffer


def write_all(fd: int, buffers: list) -> None:
    views = [memoryview(b) for b in buffers if len(b)]
    while views:
        written = os.writev(fd, views[:512])
        while written:
            if written >= len(views[0]):
                written -= len(views.pop(0))
            else:
                views[0] = views[0][written:]
                written = 0


def _own_fds(pipes: dict[str, int], control_fd: int) -> int:
    """stdin from /dev/null, stdout and stderr to their pipes; of the rest keep only the result and control fds."""
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(pipes["stdout"], 1)
    os.dup2(pipes["stderr"], 2)
    low = 3
    for keep in sorted((pipes["result"], control_fd)):
        os.closerange(low, keep)
        low = keep + 1
    os.closerange(low, os.sysconf("SC_OPEN_MAX"))
    return pipes["result"]


def _flush_standard_streams() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # the tool closed or broke its own stream; nothing more to flush
            pass


def _kill_group(pid: int) -> None:
    """SIGKILL the call's whole process group (the child leads it: it cannot leave it)."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _make_undumpable() -> None:
    """Keep tools that run as the dispatcher's own uid (no uid switch) out of its memory: no ptrace, no
    /proc/<pid>/mem. The zygote is forked first, so spares and calls stay ordinary processes."""
    if ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_DUMPABLE) failed")


def _load_sibling(name: str) -> ModuleType:
    module_name = f"_toolhub_sandbox_{name}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, Path(__file__).with_name(f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


def main() -> None:
    config = json.loads(sys.argv[1])
    proto_in, proto_out = os.dup(0), os.dup(1)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(2, 1)  # from here on a stray print lands on stderr, never in the protocol
    os.close(devnull)
    limits, invoke = _load_sibling("limits"), _load_sibling("invoke")
    invoke.preload(config["preload"])
    gc.collect()
    gc.freeze()  # keep the preloaded heap out of the children's collections: fewer copied pages per fork
    dispatcher_end, zygote_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    if os.fork() == 0:
        os.close(proto_in)
        os.close(proto_out)
        dispatcher_end.close()
        Zygote(zygote_end, limits, invoke).serve()
        os._exit(0)
    zygote_end.close()
    _make_undumpable()
    Dispatcher(config, proto_in, proto_out, dispatcher_end, limits).serve(invoke.about())


if __name__ == "__main__":
    main()
