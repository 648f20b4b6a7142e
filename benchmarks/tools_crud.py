"""Create and upsert latency and sequential throughput of `/v1/tools` for AST-only sources, over HTTP
against a real server on SQLite (a fresh TOOLHUB_HOME).

Run: .venv/bin/python benchmarks/tools_crud.py [--count 500]
"""

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.support.server import ServerProcess, fresh_database_url  # noqa: E402

SOURCE = '''def {name}(a: int, b: int) -> int:
    """Add two integers.

    Args:
        a (int): The first integer.
        b (int): The second integer.
    """
    return a + b
'''


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def timed(http: httpx.Client, method: str, count: int, prefix: str) -> tuple[list[float], float]:
    latencies = []
    started = time.perf_counter()
    for i in range(count):
        t0 = time.perf_counter()
        response = http.request(method, "/v1/tools/", json={"source_code": SOURCE.format(name=f"{prefix}_{i}")})
        latencies.append((time.perf_counter() - t0) * 1000)
        response.raise_for_status()
    return latencies, count / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        server = ServerProcess(Path(home), fresh_database_url("sqlite", Path(home))).start()
        try:
            with server.client() as http:
                timed(http, "POST", 50, "warm")
                for label, method, prefix in (("create", "POST", "c"), ("upsert (update)", "PUT", "c"), ("upsert (new)", "PUT", "u")):
                    latencies, rate = timed(http, method, args.count, prefix)
                    print(
                        f"{label:16s} p50 {statistics.median(latencies):6.2f} ms  p95 {percentile(latencies, 0.95):6.2f} ms"
                        f"  {rate:7.1f} req/s sequential"
                    )
        finally:
            server.stop()


if __name__ == "__main__":
    main()
