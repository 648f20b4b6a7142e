"""Pip requirements as toolhub accepts them: a package name with an optional version pin, nothing else.

Requirements reach the installer as arguments, so anything that is not a plain requirement (an option such as
`--index-url`, a URL, a path) is refused here rather than interpreted there.
"""

import re
from collections.abc import Iterable
from pathlib import Path

from toolhub.sandbox.base import SandboxError

_REQUIREMENT = re.compile(
    r"""^(?P<name>[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)
        (?P<extras>\[[A-Za-z0-9._,\s-]*\])?
        (?P<specifiers>\s*(?:===|==|!=|~=|>=|<=|>|<)\s*[A-Za-z0-9.*+!_-]+
            (?:\s*,\s*(?:===|==|!=|~=|>=|<=|>|<)\s*[A-Za-z0-9.*+!_-]+)*)?$""",
    re.VERBOSE,
)


class InvalidRequirementError(SandboxError):
    """A requirement that is not `name`, `name[extras]` or `name<op>version`."""


def normalize(requirement: str) -> str:
    """The canonical spelling of one requirement: PEP 503 name, no spaces. Raises InvalidRequirementError."""
    match = _REQUIREMENT.match(requirement.strip())
    if match is None:
        raise InvalidRequirementError(
            f"invalid requirement {requirement!r}: expected a package name with an optional version, "
            "such as 'cowsay' or 'cowsay==6.1'"
        )
    name = re.sub(r"[-_.]+", "-", match["name"]).lower()
    extras = re.sub(r"\s+", "", match["extras"] or "").lower()
    specifiers = re.sub(r"\s+", "", match["specifiers"] or "")
    return f"{name}{extras}{specifiers}"


def normalize_all(requirements: Iterable[str]) -> tuple[str, ...]:
    """Sorted, de-duplicated canonical requirements: equal sets give equal tuples, hence one virtualenv."""
    return tuple(sorted({normalize(r) for r in requirements}))


def package_name(requirement: str) -> str:
    """The PEP 503 name of a normalized requirement."""
    return re.split(r"[\[=!~<>]", requirement, maxsplit=1)[0]


def read_requirements_file(path: Path) -> list[str]:
    """The requirements of a requirements.txt (comments and blank lines skipped; options refused)."""
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return [line for line in lines if line]


def requirements_and_sandbox_dir(
    requirements: Iterable[str], sandbox_dir: Path | None
) -> tuple[tuple[str, ...], Path | None]:
    """A call's normalized requirements, its sandbox_dir's requirements.txt included, and the resolved
    sandbox_dir. Raises SandboxError when sandbox_dir is not a directory (an engine would create it as root)."""
    wanted = list(requirements)
    resolved = sandbox_dir.resolve() if sandbox_dir is not None else None
    if resolved is not None:
        if not resolved.is_dir():
            raise SandboxError(f"the sandbox_dir {str(resolved)!r} is not a directory")
        if (resolved / "requirements.txt").is_file():
            wanted += read_requirements_file(resolved / "requirements.txt")
    return normalize_all(wanted), resolved


def overlaps(path: Path, other: Path) -> bool:
    """Whether one of two resolved paths is, contains or lies inside the other: a sandbox_dir that overlaps the
    server's private data would show it to tools."""
    return path.is_relative_to(other) or other.is_relative_to(path)
