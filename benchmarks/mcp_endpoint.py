"""A trivial custom tool called through the MCP endpoint with the `mcp` SDK's client, next to the same tool through
`POST /v1/tools/{id}/run`, on one real server process (SQLite, default local sandbox).

Run: .venv/bin/python benchmarks/mcp_endpoint.py [--calls 300] [--rounds 5]
Both clients keep their connection; the MCP client speaks 2026-07-28 (one POST per call) and, separately, the
2025-11-25 handshake era (a session). Calls alternate between the three in rounds, so a change in machine load
hits them alike. Every call runs the tool in a fresh sandbox child. Target: the MCP p50 within 1 ms of REST's.
"""

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
from mcp import Client

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.support.load import ADD_RETURN, ADD_SOURCE  # noqa: E402
from tests.support.server import ServerProcess, fresh_database_url  # noqa: E402

ARGS = {"a": 1, "b": 2}
WARM_UP = 30


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def timed(call: Callable[[], Awaitable[str]], calls: int, samples: list[float]) -> None:
    for _ in range(calls):
        started = time.perf_counter()
        answer = await call()
        samples.append((time.perf_counter() - started) * 1000)
        if answer != ADD_RETURN:
            raise SystemExit(f"unexpected answer: {answer!r}")


async def measure(base_url: str, calls: int, rounds: int) -> dict[str, list[float]]:
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as http:
        created = await http.post("/v1/tools", json={"source_code": ADD_SOURCE})
        created.raise_for_status()
        tool_id, name = created.json()["id"], created.json()["name"]

        async def rest() -> str:
            response = await http.post(f"/v1/tools/{tool_id}/run", json={"args": ARGS})
            response.raise_for_status()
            return response.json()["tool_return"]

        async with Client(base_url + "/mcp") as modern, Client(base_url + "/mcp", mode="legacy") as legacy:

            def through(client: Client) -> Callable[[], Awaitable[str]]:
                async def call() -> str:
                    result = await client.call_tool(name, ARGS)
                    return result.content[0].text  # type: ignore[union-attr]

                return call

            ways = {"REST POST /v1/tools/{id}/run": rest, "MCP tools/call 2026-07-28": through(modern)}
            ways["MCP tools/call 2025-11-25 session"] = through(legacy)
            samples: dict[str, list[float]] = {label: [] for label in ways}
            for call in ways.values():
                await timed(call, WARM_UP, [])
            for _ in range(rounds):
                for label, call in ways.items():
                    await timed(call, calls // rounds, samples[label])
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300, help="calls per way, over all rounds")
    parser.add_argument("--rounds", type=int, default=5)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="toolhub-bench-mcp-") as home:
        server = ServerProcess(Path(home), fresh_database_url("sqlite", Path(home))).start()
        try:
            samples = asyncio.run(measure(server.base_url, options.calls, options.rounds))
        finally:
            server.stop()
    rest_p50 = statistics.median(samples["REST POST /v1/tools/{id}/run"])
    print(f"{'':36} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'p50 - REST':>11}")
    for label, values in samples.items():
        p50 = statistics.median(values)
        print(
            f"{label:36} {p50:8.2f} {percentile(values, 0.9):8.2f} {percentile(values, 0.99):8.2f} "
            f"{p50 - rest_p50:+11.2f}"
        )
    print(f"({len(samples['REST POST /v1/tools/{id}/run'])} calls each, interleaved in {options.rounds} rounds)")


if __name__ == "__main__":
    main()
