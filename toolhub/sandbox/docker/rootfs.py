"""The root image that sandbox images are built on: a Python on a small Linux user land, from wherever it can be had.

In order: a root image already here, a slim Python image from a registry, and when no registry is reachable a
Debian root file system made on this machine with `debootstrap` (Debian's packages, from the mirror the machine's
apt already uses) and turned into an image with `docker import`. The last takes about 40 s, once per engine.
"""

import hashlib
import json
import logging
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from toolhub.sandbox.docker.engine import DockerSandboxError, engine_errors

if TYPE_CHECKING:
    from docker import DockerClient

logger = logging.getLogger(__name__)

REGISTRY_IMAGE = "python:3.11-slim"
"""The base when a registry is reachable; it has the same Python as the debootstrap root."""
SUITE = "bookworm"
PACKAGES = ("python3-minimal", "python3-venv")
ROOTFS_REPOSITORY = "toolhub-rootfs"
RECIPE_LABEL = "org.toolhub.rootfs-recipe"
APT_SOURCES = Path("/etc/apt")
DEBOOTSTRAP_TIMEOUT_S = 1800


def root_image(client: "DockerClient", work_dir: Path, registry_image: str | None) -> str:
    """A local image to build sandbox images from: `registry_image` if present or pullable, else a debootstrap one.

    Raises:
        DockerSandboxError: nothing could be had (no registry, and debootstrap is missing or failed).
    """
    import docker.errors

    debootstrapped = f"{ROOTFS_REPOSITORY}:{recipe_hash()[:16]}"
    for candidate in (registry_image, debootstrapped):
        if candidate is not None and _exists(client, candidate):
            return candidate
    if registry_image is not None:
        try:
            logger.info("pulling %s for the sandbox image", registry_image)
            client.images.pull(registry_image)
            return registry_image
        except docker.errors.APIError as exc:
            logger.info("no registry image (%s); building a Debian root file system instead", exc.explanation)
    build_debootstrap_image(client, work_dir, debootstrapped)
    return debootstrapped


def recipe_hash() -> str:
    """What the debootstrap root contains; a different recipe is a different image."""
    return hashlib.sha256(json.dumps(["minbase", SUITE, sorted(PACKAGES)]).encode()).hexdigest()


def build_debootstrap_image(client: "DockerClient", work_dir: Path, tag: str) -> None:
    """debootstrap a root file system into a scratch directory and import it as `tag`."""
    debootstrap = shutil.which("debootstrap")
    if debootstrap is None:
        raise DockerSandboxError(
            "no registry is reachable and debootstrap is not installed: install Debian's `debootstrap` package "
            "(or make a Python base image available to the Docker engine)"
        )
    mirror = debian_mirror(APT_SOURCES)
    work_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="rootfs-", dir=work_dir) as scratch:
        rootfs = Path(scratch) / "rootfs"
        logger.info("building the sandbox root file system: debootstrap %s from %s (about a minute)", SUITE, mirror)
        _debootstrap(debootstrap, rootfs, mirror)
        shutil.rmtree(rootfs / "var" / "cache" / "apt" / "archives", ignore_errors=True)  # the .debs, ~60 MB
        logger.info("importing the root file system as %s", tag)
        _import(client, rootfs, tag)
    logger.info("sandbox root image %s is ready", tag)


def debian_mirror(apt_dir: Path) -> str:
    """The first Debian mirror this machine's apt uses for a regular (not security) suite.

    Read from deb822 `*.sources` files and one-line `sources.list` files alike, so nothing names a host in code.
    """
    for uri, suites in _apt_sources(apt_dir):
        if any(not suite.endswith("-security") for suite in suites):
            return uri
    raise DockerSandboxError(f"no Debian mirror found in {apt_dir}/sources.list(.d) for debootstrap to use")


def _apt_sources(apt_dir: Path) -> Iterable[tuple[str, list[str]]]:
    files = [apt_dir / "sources.list", *sorted((apt_dir / "sources.list.d").glob("*"))]
    for path in files:
        if not path.is_file():
            continue
        text = path.read_text(errors="replace")
        if path.suffix == ".sources":
            for stanza in re.split(r"\n\s*\n", text):
                fields = dict(re.findall(r"^([A-Za-z-]+):[ \t]*(.*)$", stanza, re.MULTILINE))
                if "deb" in fields.get("Types", "").split() and fields.get("URIs"):
                    yield fields["URIs"].split()[0], fields.get("Suites", "").split()
        elif path.suffix == ".list":
            for line in text.splitlines():
                words = re.sub(r"\[[^]]*\]", "", line.split("#", 1)[0]).split()
                if len(words) >= 3 and words[0] == "deb":
                    yield words[1], [words[2]]


def _debootstrap(debootstrap: str, rootfs: Path, mirror: str) -> None:
    """Run debootstrap; its phases are logged as progress, everything at debug level, the tail on failure."""
    command = [debootstrap, "--variant=minbase", f"--include={','.join(PACKAGES)}", SUITE, str(rootfs), mirror]
    tail: list[str] = []
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as process:
        assert process.stdout is not None
        for line in process.stdout:
            line = line.rstrip()
            phase = line.endswith(("packages...", "system...", "successfully."))  # not the per-package lines
            logger.log(logging.INFO if phase else logging.DEBUG, "debootstrap: %s", line)
            tail = [*tail[-19:], line]
        status = process.wait(timeout=DEBOOTSTRAP_TIMEOUT_S)
    if status != 0:
        raise DockerSandboxError("debootstrap failed (is this run as root?):\n" + "\n".join(tail))


def _import(client: "DockerClient", rootfs: Path, tag: str) -> None:
    """Stream `tar` of the root file system into the engine: nothing 300 MB large is held in memory or on disk."""
    repository, _, version = tag.partition(":")
    with subprocess.Popen(["tar", "-C", str(rootfs), "--numeric-owner", "-c", "."], stdout=subprocess.PIPE) as tar:
        with engine_errors("import the sandbox root file system"):
            client.api.import_image(
                src=tar.stdout, repository=repository, tag=version, stream_src=True,
                changes=[f"LABEL {RECIPE_LABEL}={recipe_hash()}"],
            )  # fmt: skip
        if tar.wait() != 0:
            raise DockerSandboxError("tar of the sandbox root file system failed")


def _exists(client: "DockerClient", reference: str) -> bool:
    import docker.errors

    try:
        client.images.get(reference)
    except docker.errors.ImageNotFound:
        return False
    return True
