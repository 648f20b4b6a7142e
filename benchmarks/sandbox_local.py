"""Latency of a trivial tool through the local sandbox, and the cold cost of a new requirements set.

Run: .venv/bin/python benchmarks/sandbox_local.py [--calls 500] [--unconfined]
The executor figures call `LocalSandbox.run`; the HTTP figure is `POST /v1/tools/run` on a real server process
(SQLite, default local sandbox), as a letta-client call would be. Every call runs (a fresh forked child per call). "back-to-back" issues the next call as
soon as the previous one returns; "paced" leaves 20 ms between calls, as the LLM's turn does in an agent loop.
The cold figures use a fresh virtualenv cache (uv's own download cache is whatever this machine has).
"""

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path


from toolhub.sandbox.base import ToolInvocation
from toolhub.sandbox.local.sandbox import LocalSandbox

TRIVIAL = ToolInvocation(
    name="add", source_code="def add(x: int, y: int) -> int:\n    return x + y\n", args={"x": 1, "y": 2}
)
COWSAY = ToolInvocation(
    name="moo",
    source_code="def moo() -> str:\n    import cowsay\n    return cowsay.get_output_string('cow', 'moo')\n",
    args={},
    pip_requirements=("cowsay",),
)


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def timed(sandbox: LocalSandbox, invocation: ToolInvocation) -> float:
    started = time.perf_counter()
    result = await sandbox.run(invocation)
    elapsed = (time.perf_counter() - started) * 1000
    if result.status != "success":
        raise SystemExit(f"call failed: {result.error}")
    return elapsed


async def latency(sandbox: LocalSandbox, calls: int, pause_s: float) -> list[float]:
    samples = []
    for _ in range(calls):
        if pause_s:
            await asyncio.sleep(pause_s)
        samples.append(await timed(sandbox, TRIVIAL))
    return samples


HTTP_SOURCE = '''def add(x: int, y: int) -> int:
    """Add.

    Args:
        x (int): First.
        y (int): Second.
    """
    return x + y
'''


def http_latency(calls: int) -> list[float]:
    """`POST /v1/tools/run` against a real `toolhub server` with its own home."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.support.server import ServerProcess, fresh_database_url

    with tempfile.TemporaryDirectory(prefix="toolhub-bench-http-") as home:
        server = ServerProcess(Path(home), fresh_database_url("sqlite", Path(home))).start()
        body = {"source_code": HTTP_SOURCE, "args": {"x": 1, "y": 2}}
        try:
            with server.client() as http:
                for _ in range(50):
                    http.post("/v1/tools/run", json=body).raise_for_status()
                samples = []
                for _ in range(calls):
                    started = time.perf_counter()
                    http.post("/v1/tools/run", json=body).raise_for_status()
                    samples.append((time.perf_counter() - started) * 1000)
                return samples
        finally:
            server.stop()


def report(label: str, samples: list[float]) -> None:
    print(
        f"{label:<34} p50 {percentile(samples, 0.5):6.2f} ms   p95 {percentile(samples, 0.95):6.2f} ms"
        f"   mean {statistics.fmean(samples):6.2f} ms   n={len(samples)}"
    )


async def main(calls: int, confine: bool) -> None:
    with tempfile.TemporaryDirectory(prefix="toolhub-bench-") as home:
        venvs = Path(home) / "venvs"
        sandbox = LocalSandbox(venvs, confine=confine)
        started = time.perf_counter()
        await sandbox.prewarm()
        print(
            f"confined: {sandbox.stats()['confined']}   base environment + worker ready in "
            f"{(time.perf_counter() - started) * 1000:.0f} ms"
        )
        await latency(sandbox, 50, 0.0)  # warm-up
        report("trivial tool, back-to-back", await latency(sandbox, calls, 0.0))
        report("trivial tool, paced (20 ms apart)", await latency(sandbox, calls // 2, 0.02))
        concurrent = time.perf_counter()
        await asyncio.gather(*(sandbox.run(TRIVIAL) for _ in range(calls)))
        print(f"{'trivial tool, all at once':<34} {calls / (time.perf_counter() - concurrent):6.0f} calls/s")

        print(
            f"{'new requirements set (cowsay)':<34} first call {await timed(sandbox, COWSAY):7.0f} ms "
            "(virtualenv build + worker start)"
        )
        print(f"{'':<34} next call  {await timed(sandbox, COWSAY):7.2f} ms")
        await sandbox.close()

        again = LocalSandbox(venvs, confine=confine)
        print(
            f"{'same set, new server process':<34} first call {await timed(again, COWSAY):7.0f} ms "
            "(cached virtualenv, worker start)"
        )
        await again.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--unconfined", action="store_true", help="run without bubblewrap")
    options = parser.parse_args()
    asyncio.run(main(options.calls, confine=not options.unconfined))
    report("POST /v1/tools/run (HTTP)", http_latency(options.calls))
