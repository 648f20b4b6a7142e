"""Per-call latency through the MCP bridge next to a direct, persistent `mcp` SDK session, and cached list_tools.

Run: .venv/bin/python benchmarks/mcp_bridge.py [--calls 2000] [--rounds 5]
Each client talks to its own `mcp-server-time` over stdio and calls `get_current_time` one call at a time;
rounds alternate between them so machine noise hits all alike. A third client, an SDK session on the bridge's
own stdio transport, separates what the bridge's layer costs from what its transport saves over the SDK's.
Targets: bridge overhead <= 0.5 ms at p50, cached list_tools <= 2 ms.
"""

import argparse
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import anyio

from toolhub.mcp_bridge import MCPManager, StdioServerConfig
from toolhub.mcp_bridge.stdio import stdio_transport

SERVER = [str(Path(sys.executable).parent / "mcp-server-time"), "--local-timezone", "UTC"]
ARGUMENTS = {"timezone": "UTC"}


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def timed(call: Callable[[], Awaitable[object]], n: int) -> list[float]:
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        await call()
        samples.append(time.perf_counter() - start)
    return samples


def report(label: str, samples: list[float]) -> None:
    print(
        f"{label:<32} p50 {percentile(samples, 0.5) * 1e3:7.3f} ms   p95 {percentile(samples, 0.95) * 1e3:7.3f} ms"
        f"   mean {statistics.fmean(samples) * 1e3:7.3f} ms   n={len(samples)}"
    )


async def main(calls: int, rounds: int) -> None:
    from mcp.client.session import ClientSession
    from mcp.client.stdio import StdioServerParameters, stdio_client

    params = StdioServerParameters(command=SERVER[0], args=SERVER[1:])
    config = StdioServerConfig(server_name="time", command=SERVER[0], args=SERVER[1:])
    async with (
        stdio_client(params) as (read, write),
        ClientSession(read, write) as direct,
        stdio_transport(config, report_end=print, max_message_bytes=1 << 26) as (our_read, our_write),
        ClientSession(our_read, our_write) as same_transport,
        MCPManager() as manager,
    ):
        for session in (direct, same_transport):
            await session.initialize()
            await session.list_tools()
        await manager.add(config)
        await manager.list_tools("time")

        async def direct_call() -> None:
            await direct.call_tool("get_current_time", ARGUMENTS)

        async def same_transport_call() -> None:
            await same_transport.call_tool("get_current_time", ARGUMENTS)

        async def bridge_call() -> None:
            result = await manager.call_tool("time", "get_current_time", ARGUMENTS)
            assert result.status == "success", result.text

        async def cached_list() -> None:
            await manager.list_tools("time")

        clients = {"direct": direct_call, "same_transport": same_transport_call, "bridge": bridge_call}
        samples: dict[str, list[float]] = {name: [] for name in clients}
        for call in clients.values():
            await timed(call, 200)
        per_round = max(1, calls // rounds)
        for _ in range(rounds):
            for name, call in clients.items():
                samples[name] += await timed(call, per_round)
        list_samples = await timed(cached_list, calls)

    bridge_p50 = percentile(samples["bridge"], 0.5)
    print(f"mcp-server-time over stdio, {len(samples['direct'])} sequential calls each, {rounds} alternating rounds")
    report("direct SDK session", samples["direct"])
    report("SDK session, bridge transport", samples["same_transport"])
    report("bridge (MCPManager.call_tool)", samples["bridge"])
    for label, baseline in (("vs direct SDK", "direct"), ("vs same transport", "same_transport")):
        overhead = bridge_p50 - percentile(samples[baseline], 0.5)
        print(f"{'bridge overhead at p50 ' + label:<40} {overhead * 1e3:+7.3f} ms   (target <= 0.5 ms)")
    print(
        f"{'cached list_tools':<32} p50 {percentile(list_samples, 0.5) * 1e6:7.1f} us   "
        f"p95 {percentile(list_samples, 0.95) * 1e6:7.1f} us   (target <= 2 ms)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    anyio.run(main, args.calls, args.rounds)
