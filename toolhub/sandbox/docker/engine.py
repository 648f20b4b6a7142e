"""The Docker SDK at arm's length: connect lazily, run its blocking calls off the event loop, translate its errors.

Every other docker_* module talks to the engine through `call`, so a failure of the engine (not running, an API
error, a refused request) reaches the rest of toolhub as one `SandboxError` subclass that names what was being done.
"""

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

from toolhub.sandbox.base import SandboxError

if TYPE_CHECKING:
    from docker import DockerClient

T = TypeVar("T")

API_TIMEOUT_S = 120
"""Per request; an image import or build answers only when done, so this is generous."""


class DockerSandboxError(SandboxError):
    """The Docker engine refused or failed an operation; the message says which and why."""


def connect(base_url: str | None = None) -> "DockerClient":
    """A client for `base_url`, or for the SDK's own choice (DOCKER_HOST, else the local socket) when None.

    Raises:
        DockerSandboxError: the SDK is missing or the engine does not answer.
    """
    try:
        import docker
    except ImportError:
        raise DockerSandboxError(
            "the Docker sandbox needs the `docker` package: install it next to toolhub (pip install docker)"
        ) from None
    with engine_errors("connect to the Docker engine"):
        if base_url is None:
            return docker.from_env(timeout=API_TIMEOUT_S)
        return docker.DockerClient(base_url=base_url, timeout=API_TIMEOUT_S)


@contextmanager
def engine_errors(what: str) -> Iterator[None]:
    """Translate the SDK's exceptions (and those of `requests` under it) into DockerSandboxError."""
    import docker.errors
    import requests.exceptions

    try:
        yield
    except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
        raise DockerSandboxError(f"could not {what}: {exc}") from None


def is_gone(exc: BaseException) -> bool:
    """Whether an API error says the object no longer exists, or is already being removed (not a failure)."""
    import docker.errors

    return isinstance(exc, docker.errors.APIError) and exc.status_code in (404, 409)


async def call(what: str, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a blocking SDK call in a thread; `what` completes "could not ..." in the error message."""

    def guarded() -> T:
        with engine_errors(what):
            return function(*args, **kwargs)

    return await asyncio.to_thread(guarded)
