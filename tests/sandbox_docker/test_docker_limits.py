"""Limits a container adds to the call's own: what crosses them fails alone, and the sandbox goes on."""

import asyncio

from tests.sandbox.helpers import tool
from toolhub.sandbox.base import SandboxLimits
from toolhub.sandbox.config_models import DockerSandboxConfig
from toolhub.sandbox.docker.sandbox import DockerSandbox

STEADY = tool("def steady():\n    import time\n    time.sleep(1)\n    return 'steady'")


async def test_processes_that_together_exceed_the_containers_memory(sandbox: DockerSandbox) -> None:
    """Each child stays under the per-process limit; together they cross the container's, and only they die."""
    hog = tool(
        """
        def hogs() -> list:
            import os
            children = []
            for _ in range(6):
                pid = os.fork()
                if pid == 0:
                    data = bytearray(55 * 1024 * 1024)
                    for i in range(0, len(data), 4096):
                        data[i] = 1
                    import time
                    time.sleep(3)
                    os._exit(0)
                children.append(pid)
            return [os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) for pid in children]
        """,
        limits=SandboxLimits(memory_mb=64, timeout_s=30),
    )
    hogged, steady = await asyncio.gather(sandbox.run(hog), sandbox.run(STEADY))
    assert hogged.status == "success", hogged.error
    assert -9 in hogged.func_return  # the kernel's OOM killer, inside the container's memory cgroup
    assert steady.func_return == "steady"
    assert (await sandbox.run(STEADY)).func_return == "steady"


async def test_the_configs_pids_limit_caps_the_call(sandbox: DockerSandbox) -> None:
    forks = tool(
        """
        def forks() -> int:
            import os, time
            made = 0
            while True:
                try:
                    pid = os.fork()
                except OSError:
                    return made
                if pid == 0:
                    time.sleep(30)
                    os._exit(0)
                made += 1
        """
    )
    capped, steady = await asyncio.gather(sandbox.run(forks, DockerSandboxConfig(pids_limit=12)), sandbox.run(STEADY))
    assert 0 < capped.func_return < 12
    assert steady.func_return == "steady"
    assert (await sandbox.run(forks, DockerSandboxConfig(pids_limit=12))).func_return == capped.func_return


async def test_a_timeout_ends_only_the_call(sandbox: DockerSandbox) -> None:
    spin = tool("def spin():\n    while True:\n        pass", timeout_s=1)
    spun, steady = await asyncio.gather(sandbox.run(spin), sandbox.run(STEADY))
    assert spun.error == "Error executing function spin: TimeoutError: Executing tool spin timed out after 1 seconds."
    assert steady.func_return == "steady"
    assert (await sandbox.run(STEADY)).func_return == "steady"
