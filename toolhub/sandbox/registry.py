"""The sandbox backends this server has: the one place that says which names `TOOLHUB_SANDBOX` accepts and how
each backend is built (lazily: building starts nothing, and the Docker SDK is imported only when used)."""

from pathlib import Path

from toolhub.sandbox.base import Sandbox

BACKENDS = ("local", "docker", "e2b")
"""What tools can run on here. E2B is used only where chosen (server default, agent or tool), never for having a key."""


def build_backends(home: Path, *, docker_owner: str) -> dict[str, Sandbox]:
    """Every backend, keyed by its name; `home` is TOOLHUB_HOME, `docker_owner` the instance id containers carry."""
    from toolhub.sandbox.docker.sandbox import DockerOptions, DockerSandbox
    from toolhub.sandbox.e2b import E2BSandbox
    from toolhub.sandbox.local.sandbox import LocalSandbox

    return {
        "local": LocalSandbox(home / "venvs", private_dirs=[home]),
        "docker": DockerSandbox(home / "docker", DockerOptions(owner=docker_owner)),
        "e2b": E2BSandbox(),
    }
