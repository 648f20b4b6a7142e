"""Docker sandbox figures: warm-call latency, cold start of a container, cold start of a new requirements image.

Run: .venv/bin/python benchmarks/sandbox_docker.py [--calls 500] [--cold 8]
Needs a running Docker engine. Images are built first if missing (a debootstrap root takes about a minute once).
The cold-container figure is set beside a bare `docker run` of the same image (the docker CLI, starting the same
interpreter), which is the target's yardstick: within 1.2x.
"""

import argparse
import asyncio
import logging
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from toolhub.sandbox.base import ToolInvocation
from toolhub.sandbox.config_models import DockerSandboxConfig, PipPackage
from toolhub.sandbox.docker.sandbox import DockerOptions, DockerSandbox
from toolhub.sandbox.docker.engine import connect
from toolhub.sandbox.docker.image import PYTHON

TRIVIAL = ToolInvocation(
    name="add", source_code="def add(x: int, y: int) -> int:\n    return x + y\n", args={"x": 1, "y": 2}
)
COLD_REQUIREMENT = "cowsay==6.0"
"""Not the version the tests use, so that its image is not already there; it is removed first all the same."""


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


async def warm_calls(backend: DockerSandbox, calls: int) -> tuple[list[float], list[float]]:
    """Round trips as the executor sees them, and the part of each spent inside the runner."""
    for _ in range(20):
        await backend.run(TRIVIAL)
    outer, inner = [], []
    for _ in range(calls):
        started = time.perf_counter()
        result = await backend.run(TRIVIAL)
        outer.append((time.perf_counter() - started) * 1000)
        inner.append(result.duration_ms)
        assert result.status == "success", result.error
    return outer, inner


async def cold_starts(work_dir: Path, image: str, samples: int) -> tuple[list[float], list[float]]:
    """Time to a ready container in a new pool (images built, no spare warming in the background), each sample
    next to a bare `docker run --rm IMAGE python -I -c pass` through the CLI: what a cold start costs without us."""
    options = DockerOptions(owner="toolhub-benchmark-cold", warm_containers=0, max_pools=samples + 1)
    backend = DockerSandbox(work_dir, options)
    docker = shutil.which("docker")
    ours, bare = [], []
    try:
        await backend.start()
        for sample in range(samples):
            if docker is not None:
                started = time.perf_counter()
                subprocess.run([docker, "run", "--rm", image, str(PYTHON), "-I", "-c", "pass"], check=True)
                bare.append((time.perf_counter() - started) * 1000)
            config = DockerSandboxConfig(cpus=1.0 - sample / 1000)  # a new pool key, the same image
            started = time.perf_counter()
            await backend.prewarm(config)
            ours.append((time.perf_counter() - started) * 1000)
    finally:
        await backend.close()
    return ours, bare


async def cold_requirements_image(backend: DockerSandbox, work_dir: Path) -> float:
    """Build a requirements image that is not there (uv's cache may be warm) and start its first container."""
    config = DockerSandboxConfig(pip_requirements=[PipPackage(name="cowsay", version=COLD_REQUIREMENT.split("==")[1])])
    client = connect()
    client.images.remove(await backend.build_images(config))
    fresh = DockerSandbox(work_dir, DockerOptions(owner="toolhub-benchmark-cold"))
    try:
        started = time.perf_counter()
        await fresh.prewarm(config)
        return (time.perf_counter() - started) * 1000
    finally:
        await fresh.close()
        client.close()


async def main(calls: int, cold: int) -> None:
    with tempfile.TemporaryDirectory(prefix="toolhub-docker-bench-") as work_dir:
        backend = DockerSandbox(Path(work_dir), DockerOptions(owner="toolhub-benchmark"))
        try:
            started = time.perf_counter()
            image = await backend.build_images()
            print(f"images ready             {time.perf_counter() - started:8.2f} s   ({image})")
            await backend.prewarm()
            outer, inner = await warm_calls(backend, calls)
            print(
                f"warm call p50 / p95      {percentile(outer, 0.5):8.2f} / {percentile(outer, 0.95):.2f} ms"
                f"   ({calls} calls; inside the runner p50 {percentile(inner, 0.5):.2f} ms)"
            )
            containers, bare = await cold_starts(Path(work_dir), image, cold)
            line = f"cold container p50       {percentile(containers, 0.5):8.1f} ms"
            if bare:
                ratio = percentile(containers, 0.5) / percentile(bare, 0.5)
                line += f"   (bare `docker run` p50 {percentile(bare, 0.5):.1f} ms: {ratio:.2f}x)"
            print(line)
            cold_image = await cold_requirements_image(backend, Path(work_dir))
            print(f"cold requirements image  {cold_image / 1000:8.2f} s   ({COLD_REQUIREMENT})")
            print(
                f"min/max warm call        {min(outer):8.2f} / {max(outer):.2f} ms;"
                f" cold container spread {statistics.pstdev(containers):.1f} ms"
            )
        finally:
            await backend.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--cold", type=int, default=8)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(main(args.calls, args.cold))
