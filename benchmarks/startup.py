"""Time from `toolhub server` exec to the first 200 from /v1/health, and idle RSS after start-up.

Run: .venv/bin/python benchmarks/startup.py [--runs 5]
Each run uses a fresh TOOLHUB_HOME (SQLite, so migrations run every time, as on a first start).
"""

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def one_run() -> tuple[float, float]:
    port = free_port()
    with tempfile.TemporaryDirectory() as home:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TOOLHUB_", "LETTA_"))}
        env["TOOLHUB_HOME"] = home
        started = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "toolhub.cli", "server", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            while True:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/health/", timeout=1) as response:
                        if response.status == 200:
                            break
                except OSError:
                    if proc.poll() is not None:
                        raise SystemExit("server exited during start-up")
                    time.sleep(0.01)
            ready = time.perf_counter() - started
            time.sleep(1.0)
            return ready, rss_mib(proc.pid)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=15)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    one_run()  # warm the file cache and byte-code, as a second start would be
    results = [one_run() for _ in range(args.runs)]
    ready = [r[0] for r in results]
    rss = [r[1] for r in results]
    print(f"time-to-ready: median {statistics.median(ready):.3f} s, max {max(ready):.3f} s over {args.runs} runs")
    print(f"idle RSS:      median {statistics.median(rss):.1f} MiB, max {max(rss):.1f} MiB")


if __name__ == "__main__":
    main()
