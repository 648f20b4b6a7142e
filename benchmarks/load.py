"""Many concurrent callers of `POST /v1/tools/run` on a real server: throughput, latency, and every lost request.

Run: .venv/bin/python benchmarks/load.py [--callers 50] [--seconds 60] [--mode keepalive|fresh|shared|both|all]
         [--pause 0 [--pause-max S]] [--server-args "--keep-alive-timeout 5"]

Starts its own `toolhub server` (SQLite, default local sandbox, a fresh home), warms it up, then runs N callers
for D seconds, each issuing calls of a trivial tool (`add(1, 2)`) one after another. In "keepalive" mode each
caller keeps one HTTP connection open and reuses it (as letta-client does); in "fresh" mode each call opens and
closes its own connection (as scripts calling `httpx.post` do); in "shared" mode all callers share one client
and its pool; "both" and "all" run modes one after the other on the same server. `--pause` makes each caller wait
between its calls (an agent's LLM turn), which lets keep-alive connections sit idle as they do in real use:
`--pause 4.8 --pause-max 5.05` puts idle times right at httpx's 5 s pool expiry, where a server that closes idle
connections at 5 s (uvicorn's default; try `--server-args "--keep-alive-timeout 5"`) loses requests.

Every request is accounted for: a 200 whose tool status is "success" with the right answer, or an error counted
by kind (connection reset, closed by the server, timeout, other transport error, non-200 status, tool error,
wrong answer). Printed per mode: calls/s, p50/p95/p99 latency of the successful calls, the errors. Then the
server's RSS at start and end (from /proc/<pid>/status) and its peak of open descriptors, and after the server
stopped, whether any of its descendant processes (or processes of its session) and any Docker sandbox containers
of its instance remain.
Speed is reported, never asserted; the run stops by itself after warm-up + D seconds per mode + shutdown.
"""

import argparse
import asyncio
import errno
import json
import os
import random
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.load import ADD_BODY, ADD_RETURN
from tests.support.server import ServerProcess, fresh_database_url  # noqa: E402

OWNER_LABEL = "org.toolhub.owner"


@dataclass
class Tally:
    """What one mode's callers saw."""

    latencies_ms: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    examples: dict[str, str] = field(default_factory=dict)

    def error(self, kind: str, example: str) -> None:
        self.errors[kind] += 1
        self.examples.setdefault(kind, example)

    @property
    def requests(self) -> int:
        return len(self.latencies_ms) + sum(self.errors.values())


def chain(exc: BaseException) -> list[BaseException]:
    """The exception and the ones it was raised from, outermost first."""
    found: list[BaseException] = []
    cause: BaseException | None = exc
    while cause is not None and cause not in found:
        found.append(cause)
        cause = cause.__cause__ or cause.__context__
    return found


def classify(exc: httpx.HTTPError) -> str:
    """The kind of a transport failure; a reset is told apart from an orderly close by the OS error beneath
    (anyio reports a reset while reading as BrokenResourceError, raised from the ConnectionResetError)."""
    if isinstance(exc, httpx.TimeoutException):
        return f"timeout ({type(exc).__name__})"
    for cause in chain(exc):
        if isinstance(cause, ConnectionResetError) or getattr(cause, "errno", None) == errno.ECONNRESET:
            return "connection reset"
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        if isinstance(cause, BrokenPipeError):
            return "connection closed by the server (broken pipe)"
    if isinstance(exc, httpx.RemoteProtocolError):
        return "server disconnected (RemoteProtocolError)"
    return f"transport error ({' <- '.join(type(cause).__name__ for cause in chain(exc))})"


async def one_call(http: httpx.AsyncClient, tally: Tally) -> None:
    started = time.perf_counter()
    try:
        response = await http.post("/v1/tools/run", json=ADD_BODY)
    except httpx.HTTPError as exc:
        tally.error(classify(exc), " <- ".join(f"{type(e).__module__}.{type(e).__name__}({e})" for e in chain(exc)))
        return
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        tally.error(f"HTTP {response.status_code}", response.text[:300])
        return
    result = response.json()
    if result.get("status") != "success":
        tally.error("tool status error", json.dumps(result)[:300])
    elif result.get("tool_return") != ADD_RETURN:
        tally.error("wrong answer", json.dumps(result)[:300])
    else:
        tally.latencies_ms.append(elapsed)


MODES = {
    "keepalive": "each caller has one connection and reuses it (letta-client in one agent)",
    "fresh": "each call opens and closes its own connection (scripts calling httpx.post)",
    "shared": "all callers share one client with httpx's default pool (an app serving many agents)",
}


def client(base_url: str, mode: str, timeout: float) -> httpx.AsyncClient:
    """A client as `mode` describes; httpx's default idle expiry (5 s) in every mode."""
    if mode == "shared":
        limits = httpx.Limits()
    else:
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=0 if mode == "fresh" else 1)
    return httpx.AsyncClient(base_url=base_url, limits=limits, timeout=timeout)


@dataclass(frozen=True)
class Load:
    """How the callers behave."""

    callers: int
    seconds: float
    mode: str = "keepalive"
    """A key of MODES."""
    pause: tuple[float, float] = (0.0, 0.0)
    """Each caller waits a random time in this range between its calls."""
    timeout: float = 30.0


async def caller(http: httpx.AsyncClient, spec: Load, deadline: float, tally: Tally) -> None:
    while time.monotonic() < deadline:
        await one_call(http, tally)
        pause = random.uniform(*spec.pause)
        if pause and time.monotonic() + pause < deadline:
            await asyncio.sleep(pause)


async def own_client_caller(base_url: str, spec: Load, deadline: float, tally: Tally) -> None:
    async with client(base_url, spec.mode, spec.timeout) as http:
        await caller(http, spec, deadline, tally)


async def load(base_url: str, spec: Load) -> tuple[Tally, float]:
    tally = Tally()
    started = time.monotonic()
    deadline = started + spec.seconds
    if spec.mode == "shared":
        async with client(base_url, spec.mode, spec.timeout) as http:
            await asyncio.gather(*(caller(http, spec, deadline, tally) for _ in range(spec.callers)))
    else:
        await asyncio.gather(*(own_client_caller(base_url, spec, deadline, tally) for _ in range(spec.callers)))
    return tally, time.monotonic() - started


def percentile(samples: list[float], q: float) -> float:
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def report(mode: str, tally: Tally, elapsed: float) -> None:
    ok = tally.latencies_ms
    lost = sum(tally.errors.values())
    print(
        f"{mode:<10} {tally.requests:6d} requests in {elapsed:5.1f} s   {len(ok) / elapsed:6.1f} calls/s   "
        f"p50 {percentile(ok, 0.5):7.1f} ms   p95 {percentile(ok, 0.95):7.1f} ms   p99 {percentile(ok, 0.99):7.1f} ms"
        f"   max {max(ok, default=float('nan')):7.1f} ms   errors {lost}"
    )
    for kind, count in tally.errors.most_common():
        print(f"{'':<10} {count:6d} x {kind}   e.g. {tally.examples[kind][:200]}")


# ---- the server process --------------------------------------------------------------------------------------------


def rss_mib(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def open_fds(pid: int) -> int | None:
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return None


def _stat(pid: int) -> tuple[int, int, int, str] | None:
    """(ppid, session id, start time, state) of a live process, else None."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[1]), int(fields[3]), int(fields[19]), fields[0]


def descendants(root: int) -> set[tuple[int, int]]:
    """(pid, start time) of every live descendant of `root`; the start time tells a reused pid apart."""
    children: dict[int, list[int]] = {}
    starts: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (stat := _stat(int(entry))) is not None:
            children.setdefault(stat[0], []).append(int(entry))
            starts[int(entry)] = stat[2]
    found: set[tuple[int, int]] = set()
    pending = list(children.get(root, ()))
    while pending:
        pid = pending.pop()
        found.add((pid, starts[pid]))
        pending.extend(children.get(pid, ()))
    return found


def leftovers(seen: set[tuple[int, int]], session: int) -> list[str]:
    """Processes seen under the server that still live, and any process still in the server's session."""
    alive = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or (stat := _stat(int(entry))) is None or stat[3] == "Z":
            continue
        pid = int(entry)
        if (pid, stat[2]) in seen or stat[1] == session:
            try:
                command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                command = "?"
            alive.append(f"{pid}: {command[:120]}")
    return alive


def containers_of(home: Path) -> list[str] | None:
    """Docker containers labelled with the server's instance id; None when there is no engine or no id."""
    id_file = home / "instance-id"
    docker = shutil.which("docker")
    if docker is None or not id_file.exists():
        return None
    label = f"label={OWNER_LABEL}={id_file.read_text().strip()}"
    try:
        done = subprocess.run(
            [docker, "ps", "-a", "--filter", label, "--format", "{{.ID}} {{.Status}}"],
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.split("\n")[:-1] if done.returncode == 0 else None


@dataclass
class Watch:
    """Server figures sampled while callers run."""

    peak_fds: int = 0
    peak_rss_mib: float = 0.0
    seen: set[tuple[int, int]] = field(default_factory=set)
    """(pid, start time) of every descendant of the server seen."""


async def watched(pid: int, spec: Load, base_url: str, watch: Watch) -> tuple[Tally, float]:
    """Run the load while sampling the server once a second."""

    async def sample() -> None:
        while True:
            watch.peak_fds = max(watch.peak_fds, open_fds(pid) or 0)
            watch.peak_rss_mib = max(watch.peak_rss_mib, rss_mib(pid))
            watch.seen |= descendants(pid)
            await asyncio.sleep(1.0)

    sampler = asyncio.create_task(sample())
    try:
        return await load(base_url, spec)
    finally:
        sampler.cancel()


async def warm_up(base_url: str, callers: int) -> None:
    """Start the sandbox's worker and fill the caches, so the figures are of steady state."""
    tally = Tally()
    async with client(base_url, "keepalive", 120) as http:
        await one_call(http, tally)
    if tally.errors:
        raise SystemExit(f"warm-up call failed: {dict(tally.errors)} {tally.examples}")
    await load(base_url, Load(callers=min(callers, 10), seconds=2.0, timeout=60))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 2)[2],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    parser.add_argument("--callers", type=int, default=50, help="concurrent callers (default 50)")
    parser.add_argument("--seconds", type=float, default=60.0, help="duration of each mode in seconds (default 60)")
    parser.add_argument(
        "--mode", choices=(*MODES, "both", "all"), default="keepalive",
        help="; ".join(f"{name}: {text}" for name, text in MODES.items())
        + "; both: keepalive then fresh; all: the three in turn (default keepalive)",
    )  # fmt: skip
    parser.add_argument("--pause", type=float, default=0.0, help="seconds each caller waits between calls (default 0)")
    parser.add_argument(
        "--pause-max", type=float, default=None,
        help="when set, each pause is drawn uniformly from [--pause, --pause-max]; e.g. 4.8 and 5.2 straddle the "
        "5 s idle timeout of httpx's connection pool",
    )  # fmt: skip
    parser.add_argument("--timeout", type=float, default=30.0, help="per-request timeout in seconds (default 30)")
    parser.add_argument(
        "--server-args", default="",
        help="extra `toolhub server` options, e.g. \"--keep-alive-timeout 5\" to compare with uvicorn's default",
    )  # fmt: skip
    options = parser.parse_args()
    modes = {"both": ["keepalive", "fresh"], "all": list(MODES)}.get(options.mode, [options.mode])
    pause = (options.pause, max(options.pause, options.pause_max if options.pause_max is not None else options.pause))

    with tempfile.TemporaryDirectory(prefix="toolhub-bench-load-") as tmp:
        home = Path(tmp)
        server = ServerProcess(home, fresh_database_url("sqlite", home), server_args=shlex.split(options.server_args)).start()
        assert server.process is not None
        pid = server.process.pid
        watch = Watch()
        try:
            rss_start = rss_mib(pid)
            asyncio.run(warm_up(server.base_url, options.callers))
            rss_warm = rss_mib(pid)
            print(
                f"{options.callers} callers, {options.seconds:g} s per mode, pause {pause[0]:g}-{pause[1]:g} s; "
                f"server pid {pid}, RSS {rss_start:.1f} MiB at start, {rss_warm:.1f} MiB after warm-up, "
                f"{open_fds(pid)} open fds"
            )
            for mode in modes:
                spec = Load(options.callers, options.seconds, mode, pause, options.timeout)
                tally, elapsed = asyncio.run(watched(pid, spec, server.base_url, watch))
                report(mode, tally, elapsed)
            rss_end = rss_mib(pid)
            print(
                f"server RSS at end {rss_end:.1f} MiB ({rss_end - rss_start:+.1f} MiB, peak {watch.peak_rss_mib:.1f}), "
                f"{open_fds(pid)} open fds (peak {watch.peak_fds})"
            )
            watch.seen |= descendants(pid)
        finally:
            server.stop()
        remaining = leftovers(watch.seen, pid)
        code = server.process.returncode
        note = " (SIGTERM, re-raised by uvicorn after its shutdown)" if code == -15 else ""
        print(
            f"after stop: server exit code {code}{note}, {len(watch.seen)} descendants seen, "
            f"{len(remaining)} still alive"
            + "".join(f"\n    {line}" for line in remaining)
        )
        containers = containers_of(home)
        print(
            "sandbox containers left: "
            + ("n/a (no docker engine or no instance id)" if containers is None else str(len(containers)))
            + "".join(f"\n    {line}" for line in containers or ())
        )
        log_tail = [line for line in server.log().splitlines() if "Traceback" in line or "ERROR" in line]
        if log_tail:
            print(f"server log has {len(log_tail)} error lines; first: {log_tail[0][:200]}")


if __name__ == "__main__":
    main()
