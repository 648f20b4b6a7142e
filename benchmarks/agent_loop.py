"""Server time per agent step, excluding the LLM: an agent makes 10 sequential tool calls then ends its turn, with
the fake OpenAI-compatible LLM (tests/fakes) answering at once. Once with a custom Python tool (local sandbox),
once with an MCP tool (a stdio server written with the `mcp` SDK).

Per turn: (wall time of the request − the LLM time the server measured, summed over the turn's steps) / steps.
The LLM time comes from the stored steps (`llm_ms`); it includes the fake's HTTP round trip.

With --async-agents N (issue 13's figure): N agents each send one background run of 10 tool calls at once; it
prints runs per second from the first send to the last completion, and the p99 server time per step.

Run: .venv/bin/python benchmarks/agent_loop.py [--turns 20] [--async-agents 50]
"""

import argparse
import json
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.fakes.llm_server import FakeLLM, text, tool_call  # noqa: E402
from tests.support.server import ServerProcess, fresh_database_url  # noqa: E402

CALLS_PER_TURN = 10
ADD_SOURCE = '''def add_numbers(a: int, b: int) -> int:
    """Add two integers.

    Args:
        a: The first integer.
        b: The second integer.
    """
    return a + b
'''
MCP_SERVER = Path(__file__).resolve().parents[1] / "tests" / "support" / "mcp_servers" / "everything.py"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def mcp_tool(http: httpx.Client) -> str:
    config = {"server_name": "bench", "type": "stdio", "command": sys.executable, "args": [str(MCP_SERVER)]}
    http.put("/v1/tools/mcp/servers", json=config).raise_for_status()
    for _ in range(200):
        if http.get("/v1/tools/mcp/servers").json()["bench"]["status"]["state"] == "connected":
            break
        time.sleep(0.05)
    answer = http.post("/v1/tools/mcp/servers/bench/add")  # the MCP server's own `add` tool
    answer.raise_for_status()
    return answer.json()["name"]


def turn_times(http: httpx.Client, fake: FakeLLM, db: Path, agent_id: str, tool: str, turns: int) -> list[float]:
    per_step = []
    for n in range(turns + 1):
        fake.script(*[tool_call(tool, {"a": i, "b": n}) for i in range(CALLS_PER_TURN)], text("done"))
        started = time.perf_counter()
        answer = http.post(f"/v1/agents/{agent_id}/messages", json={"messages": [{"role": "user", "content": "go"}]})
        wall_ms = (time.perf_counter() - started) * 1000
        answer.raise_for_status()
        body = answer.json()
        run_id = body["usage"]["run_ids"][0]
        with sqlite3.connect(db) as conn:
            llm_ms = conn.execute("SELECT SUM(llm_ms) FROM steps WHERE run_id = ?", (run_id,)).fetchone()[0]
        if n:  # the first turn warms the sandbox pool
            per_step.append((wall_ms - llm_ms) / body["usage"]["step_count"])
    return per_step


def async_runs(http: httpx.Client, fake: FakeLLM, db: Path, tool: str, agents: int) -> None:
    """Many agents' background runs at once: throughput and step overhead under the worker pool."""
    ids = []
    for _ in range(agents):
        answer = http.post(
            "/v1/agents/",
            json={"agent_type": "letta_v1_agent", "model": "openai/fake-model", "tools": [tool], "include_base_tools": False},
        )
        answer.raise_for_status()
        ids.append(answer.json()["id"])
    fake.reset()
    fake.script(*[tool_call(tool, {"a": i, "b": 1}) for i in range(CALLS_PER_TURN * agents)], *[text("done")] * agents)
    started = time.perf_counter()
    runs = []
    for agent_id in ids:
        answer = http.post(f"/v1/agents/{agent_id}/messages/async", json={"messages": [{"role": "user", "content": "go"}]})
        answer.raise_for_status()
        runs.append(answer.json()["id"])
    pending = set(runs)
    while pending:
        pending = {run for run in pending if http.get(f"/v1/runs/{run}").json()["status"] not in ("completed", "failed")}
        time.sleep(0.02)
    elapsed = time.perf_counter() - started
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT run_id, SUM(llm_ms), COUNT(*), MAX(total_duration_ns) FROM steps JOIN runs ON runs.id = steps.run_id"
            " GROUP BY run_id"
        ).fetchall()
    wanted = set(runs)
    per_step = [(duration / 1e6 - llm_ms) / steps for run_id, llm_ms, steps, duration in rows if run_id in wanted]
    print(
        f"async: {agents} runs in {elapsed:.2f} s = {agents / elapsed:.1f} runs/s; server time per step "
        f"p50 {statistics.median(per_step):.2f} ms, p99 {percentile(per_step, 0.99):.2f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--async-agents", type=int, default=0, help="also run this many background runs at once")
    args = parser.parse_args()
    fake = FakeLLM().start()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        env = {"OPENAI_API_KEY": fake.api_key, "OPENAI_BASE_URL": fake.url}
        server = ServerProcess(home, fresh_database_url("sqlite", home), **env).start()
        try:
            with server.client() as http:
                http.post("/v1/tools/", json={"source_code": ADD_SOURCE}).raise_for_status()
                results = {}
                for label, tool in (("custom tool", "add_numbers"), ("MCP tool", None)):
                    tool = tool or mcp_tool(http)
                    agent = http.post(
                        "/v1/agents/",
                        json={"agent_type": "letta_v1_agent", "model": "openai/fake-model", "tools": [tool],
                              "include_base_tools": False},
                    )
                    agent.raise_for_status()
                    times = turn_times(http, fake, home / "toolhub.db", agent.json()["id"], tool, args.turns)
                    results[label] = times
                    print(
                        f"{label:12s}: server time per step p50 {statistics.median(times):6.2f} ms, "
                        f"p90 {percentile(times, 0.9):6.2f} ms ({args.turns} turns of {CALLS_PER_TURN} calls + answer)"
                    )
                print(json.dumps({k: round(statistics.median(v), 2) for k, v in results.items()}))
                if args.async_agents:
                    async_runs(http, fake, home / "toolhub.db", "add_numbers", args.async_agents)
        finally:
            server.stop()
            fake.stop()


if __name__ == "__main__":
    main()
