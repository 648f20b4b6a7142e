"""Sandbox images: the runner on a Python root image, then one image per requirement set on top of that.

    root image            a Python (see `rootfs.py`), or the image a sandbox config names
    toolhub-sandbox:H     + runner.py, limits.py, invoke.py and an empty virtualenv; H hashes the runner's code,
                            this Dockerfile and the root image's id
    toolhub-sandbox-env:K + the requirements (and pydantic) in the virtualenv; K hashes the sandbox image's id and
                            the normalized requirements, as the local sandbox's virtualenv key does

Each image carries its hash in a label and is built only when no image with that hash exists, so a server restart
or a second test session reuses them. Requirements are resolved and downloaded on this machine by uv, from wheels
only, for the container's Python and platform; the image build itself runs with no network.
"""

import hashlib
import json
import logging
import shutil
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from toolhub.sandbox.docker.engine import DockerSandboxError, engine_errors
from toolhub.sandbox.uv import run_uv, with_pydantic

if TYPE_CHECKING:
    from docker import DockerClient

logger = logging.getLogger(__name__)

SANDBOX_SOURCES = Path(__file__).parents[1] / "inside"
RUNNER_FILES = ("runner.py", "limits.py", "invoke.py")
"""What runs inside the container: the runner and the two siblings it loads by path (standard library only)."""
RUNNER_DIR = PurePosixPath("/opt/toolhub/runner")
VENV = PurePosixPath("/opt/toolhub/venv")
PYTHON = VENV / "bin" / "python"
RUNNER = RUNNER_DIR / "runner.py"
HASH_LABEL = "org.toolhub.content-hash"
SANDBOX_REPOSITORY = "toolhub-sandbox"
ENV_REPOSITORY = "toolhub-sandbox-env"
ENV_RECIPE = "toolhub-docker-env-1"
"""Part of every requirements image's key: change it when the way those images are built changes."""

_SANDBOX_DOCKERFILE = """\
FROM {root}
COPY runner/ {runner_dir}/
RUN {make_venv}
RUN {compile_runner}
RUN {close_tmp}
"""
_ENV_DOCKERFILE = """\
FROM {sandbox}
COPY site-packages/ {purelib}/
RUN {compile_packages}
"""
_COMPILE_ALL = "import compileall, sys; compileall.compile_dir(sys.argv[1], quiet=2)"
"""Byte-compiles the packages at build time (the root is read-only later); a file that does not compile is left."""
_PROBE = (
    "import json, platform, sys, sysconfig; print(json.dumps({'version': '%d.%d' % sys.version_info[:2], "
    "'purelib': sysconfig.get_path('purelib'), 'libc': platform.libc_ver(), 'machine': platform.machine()}))"
)


def sandbox_image(client: "DockerClient", root: str, work_dir: Path) -> str:
    """The runner image on `root` (an image reference), built if no image has its content hash yet."""
    with engine_errors(f"inspect the image {root!r}"):
        root_id = client.images.get(root).id
    files = {name: (SANDBOX_SOURCES / name).read_bytes() for name in RUNNER_FILES}
    dockerfile = _SANDBOX_DOCKERFILE.format(
        root=root,
        runner_dir=RUNNER_DIR,
        make_venv=json.dumps(["python3", "-m", "venv", "--without-pip", str(VENV)]),
        compile_runner=json.dumps([str(PYTHON), "-I", "-m", "compileall", "-q", str(RUNNER_DIR)]),
        # The engine copies the image's /tmp mode onto the tmpfs mounted there: calls must not write in /tmp
        # itself, only in the working directory the runner makes for each of them.
        close_tmp=json.dumps([str(PYTHON), "-I", "-c", "import os; os.chmod('/tmp', 0o711)"]),
    )
    digests = [f"{name}:{hashlib.sha256(data).hexdigest()}" for name, data in files.items()]
    content_hash = _hash([dockerfile, root_id, *digests])
    tag = f"{SANDBOX_REPOSITORY}:{content_hash[:16]}"
    if _has_hash(client, tag, content_hash):
        return tag
    with _context(work_dir, dockerfile, content_hash) as context:
        (context / "runner").mkdir()
        for name, data in files.items():
            (context / "runner" / name).write_bytes(data)
        _build(client, context, tag, what="the sandbox image")
    return tag


def env_image(client: "DockerClient", sandbox: str, requirements: Sequence[str], work_dir: Path) -> str:
    """The image with `requirements` (normalized) installed over `sandbox`, built on first use.

    Raises:
        InstallError: uv could not resolve or download the requirements; the message quotes uv.
    """
    with engine_errors(f"inspect the image {sandbox!r}"):
        sandbox_id = client.images.get(sandbox).id
    # The Dockerfile's one variable, the site-packages path, follows from the sandbox image.
    content_hash = _hash([ENV_RECIPE, _ENV_DOCKERFILE, _COMPILE_ALL, sandbox_id, *requirements])
    tag = f"{ENV_REPOSITORY}:{content_hash[:16]}"
    if _has_hash(client, tag, content_hash):
        return tag
    python = probe(client, sandbox)
    dockerfile = _ENV_DOCKERFILE.format(
        sandbox=sandbox,
        purelib=python["purelib"],
        compile_packages=json.dumps([str(PYTHON), "-I", "-c", _COMPILE_ALL, python["purelib"]]),
    )
    with _context(work_dir, dockerfile, content_hash) as context:
        _install(requirements, context / "site-packages", python)
        _build(client, context, tag, what=f"the sandbox image for {', '.join(requirements) or 'no requirements'}")
    return tag


def probe(client: "DockerClient", image: str) -> dict[str, Any]:
    """The Python inside `image`: version, site-packages directory, C library and machine, to pick wheels for it."""
    with engine_errors(f"start {image!r} to look at its Python"):
        output = client.containers.run(
            image, [str(PYTHON), "-I", "-c", _PROBE], remove=True, network_mode="none", read_only=True,
            cap_drop=["ALL"], user="65534:65534",
        )  # fmt: skip
    return json.loads(output)


def wheel_platform(python: dict[str, Any]) -> str:
    """uv's name for the container's platform: manylinux of its glibc version, else musl."""
    libc, version = python["libc"]
    if libc == "glibc":
        return f"{python['machine']}-manylinux_{version.replace('.', '_')}"
    return f"{python['machine']}-unknown-linux-musl"


def _install(requirements: Sequence[str], target: Path, python: dict[str, Any]) -> None:
    """uv on this machine installs wheels for the container's Python into `target`, to be copied into the image."""
    run_uv(
        ["pip", "install", "--quiet", "--no-build", "--target", str(target), "--python", sys.executable,
         "--python-version", python["version"], "--python-platform", wheel_platform(python),
         *with_pydantic(requirements)],
        what=", ".join(requirements) or "the sandbox's packages",
    )  # fmt: skip
    shutil.rmtree(target / "bin", ignore_errors=True)  # console scripts name this machine's interpreter


def _build(client: "DockerClient", context: Path, tag: str, *, what: str) -> None:
    """`docker build` with no network, logging each step as progress."""
    logger.info("building %s (%s)", what, tag)
    with engine_errors(f"build {what}"):
        for event in client.api.build(
            path=str(context), tag=tag, rm=True, forcerm=True, network_mode="none", decode=True,
            use_config_proxy=False,
        ):  # fmt: skip
            if "error" in event:
                raise DockerSandboxError(f"could not build {what}: {event['error'].strip()}")
            line = str(event.get("stream", "")).strip()
            if line:
                logger.log(logging.INFO if line.startswith("Step ") else logging.DEBUG, "docker build: %s", line)


@contextmanager
def _context(work_dir: Path, dockerfile: str, content_hash: str) -> Iterator[Path]:
    """A scratch build context holding `dockerfile` with the hash label added, removed afterwards."""
    work_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="image-", dir=work_dir) as scratch:
        (Path(scratch) / "Dockerfile").write_text(f'{dockerfile}LABEL {HASH_LABEL}="{content_hash}"\n')
        yield Path(scratch)


def _has_hash(client: "DockerClient", tag: str, content_hash: str) -> bool:
    import docker.errors

    with engine_errors(f"inspect the image {tag!r}"):
        try:
            return client.images.get(tag).labels.get(HASH_LABEL) == content_hash
        except docker.errors.ImageNotFound:
            return False


def _hash(parts: Sequence[str]) -> str:
    return hashlib.sha256(json.dumps(list(parts)).encode()).hexdigest()
