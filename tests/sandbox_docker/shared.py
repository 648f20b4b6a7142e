"""The local sandbox's behaviour suite, run against the Docker backend without copying a line of it.

Every test in tests/sandbox that takes the `sandbox` fixture is collected again here, where `sandbox` is a
`DockerSandbox`; tests of the local backend's own machinery (those taking `make_local`) are left to it.
"""

import inspect
from collections.abc import Callable
from types import ModuleType
from typing import Any

NOT_SHARED = {
    "test_network_when_allowed": (
        "an allowed network is toolhub's fenced bridge: the host's loopback, where the test listens, stays out of "
        "reach (test_docker_isolation and tests/security/test_docker_network check what it gives instead)"
    ),
    "test_writes_outside_the_working_dir_fail": (
        "it expects PermissionError or OSError by name, where a container's read-only root answers "
        "FileNotFoundError for host paths it does not have (test_docker_isolation tries every directory instead)"
    ),
}
"""Shared tests whose expectations are the local backend's own, with the reason; Docker has its own test for each."""


def shared_tests(module: ModuleType) -> dict[str, Callable[..., Any]]:
    """The tests of `module` that take `sandbox`, under names that say where they come from."""
    prefix = module.__name__.rsplit(".", 1)[-1].removeprefix("test_")
    return {
        f"test_{prefix}__{name.removeprefix('test_')}": test
        for name, test in vars(module).items()
        if name.startswith("test_")
        and callable(test)
        and "sandbox" in inspect.signature(test).parameters
        and name not in NOT_SHARED
    }
