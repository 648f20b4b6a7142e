"""Sandbox images: found again by their content hash, rebuilt only when what goes into them changes, one per
requirement set, and built on whatever image a sandbox config names."""

import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.sandbox.helpers import tool
from toolhub.sandbox.docker import image as docker_image
from toolhub.sandbox.config_models import DockerSandboxConfig, PipRequirement
from toolhub.sandbox.docker.sandbox import DockerSandbox
from toolhub.sandbox.docker.engine import DockerSandboxError
from toolhub.sandbox.docker.image import HASH_LABEL, RUNNER_FILES, sandbox_image, wheel_platform
from toolhub.sandbox.docker.rootfs import debian_mirror, root_image

if TYPE_CHECKING:
    from docker import DockerClient


async def test_images_are_found_again_not_rebuilt(make_docker, engine: "DockerClient") -> None:
    tag = await make_docker().build_images()
    image = engine.images.get(tag)
    assert tag.endswith(":" + image.labels[HASH_LABEL][:16])
    assert await make_docker().build_images() == tag
    assert engine.images.get(tag).id == image.id


async def test_a_change_to_the_runner_makes_a_new_image(
    engine: "DockerClient", docker_work_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = root_image(engine, docker_work_dir, None)
    current = sandbox_image(engine, root, docker_work_dir)
    for name in RUNNER_FILES:
        shutil.copy(docker_image.SANDBOX_SOURCES / name, tmp_path / name)
    with (tmp_path / "runner.py").open("a") as runner:
        runner.write("\n# a change\n")
    monkeypatch.setattr(docker_image, "SANDBOX_SOURCES", tmp_path)
    changed = sandbox_image(engine, root, docker_work_dir)
    try:
        assert changed != current
        assert sandbox_image(engine, root, docker_work_dir) == changed
    finally:
        engine.images.remove(changed)


async def test_one_image_per_requirement_set(make_docker, engine: "DockerClient") -> None:
    backend: DockerSandbox = make_docker()
    spelled = await backend.build_images(DockerSandboxConfig(pip_requirements=[PipRequirement(name="Cowsay")]))
    again = await make_docker().build_images(DockerSandboxConfig(pip_requirements=[PipRequirement(name="cowsay")]))
    plain = await backend.build_images()
    assert spelled == again != plain
    assert engine.images.get(spelled).labels[HASH_LABEL].startswith(spelled.rsplit(":", 1)[1])


async def test_a_config_can_name_the_base_image(
    make_docker, engine: "DockerClient", docker_work_dir: Path, tmp_path: Path
) -> None:
    """The runner goes on top of the named image (built here, reused by later sessions as it is unchanged)."""
    (tmp_path / "Dockerfile").write_text(f"FROM {root_image(engine, docker_work_dir, None)}\nCOPY marker /marker\n")
    (tmp_path / "marker").write_text("from the custom image")
    engine.images.build(path=str(tmp_path), tag="toolhub-test-custom-base:latest", network_mode="none")
    result = await make_docker().run(
        tool("def mark() -> str:\n    return open('/marker').read()"),
        DockerSandboxConfig(image="toolhub-test-custom-base:latest"),
    )
    assert result.func_return == "from the custom image"


def test_the_debian_mirror_comes_from_apts_own_sources(tmp_path: Path) -> None:
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list.d" / "debian.sources").write_text(
        "Types: deb\nURIs: http://security.example/debian-security\nSuites: bookworm-security\nComponents: main\n\n"
        "Types: deb deb-src\nURIs: http://mirror.example/debian\nSuites: bookworm bookworm-updates\n"
    )
    assert debian_mirror(tmp_path) == "http://mirror.example/debian"


def test_the_debian_mirror_from_a_one_line_sources_list(tmp_path: Path) -> None:
    (tmp_path / "sources.list").write_text(
        "# comment\ndeb-src http://src.example/debian bookworm main\n"
        "deb [arch=amd64 signed-by=/k.gpg] http://mirror.example/debian bookworm main\n"
    )
    assert debian_mirror(tmp_path) == "http://mirror.example/debian"


def test_no_debian_mirror_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(DockerSandboxError, match="no Debian mirror"):
        debian_mirror(tmp_path)


@pytest.mark.parametrize(
    ("libc", "machine", "expected"),
    [(("glibc", "2.36"), "x86_64", "x86_64-manylinux_2_36"), (("", ""), "aarch64", "aarch64-unknown-linux-musl")],
)
def test_wheels_are_picked_for_the_containers_platform(libc: tuple[str, str], machine: str, expected: str) -> None:
    assert wheel_platform({"libc": libc, "machine": machine}) == expected
