"""Running uv, the one installer both backends use: which binary, what it may see of the server's environment, and
how its failures read. uv unpacks wheels without running package code; callers pass `--no-build`, so no source
distribution's build code runs on the server either.
"""

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

from toolhub.sandbox.base import SandboxError
from toolhub.sandbox.requirements import package_name

PYDANTIC = "pydantic>=2"
"""Added unless the requirements name pydantic themselves: tools with Pydantic arguments need it."""
INSTALL_TIMEOUT_S = 600
_INSTALLER_ENV = re.compile(
    r"^(PATH|HOME|LANG|LC_ALL|TMPDIR|XDG_CACHE_HOME|XDG_CONFIG_HOME|UV_.*|PIP_.*|SSL_CERT_.*|REQUESTS_CA_BUNDLE"
    r"|(?i:https?_proxy|all_proxy|no_proxy))$"
)
"""What uv may see of the server's environment: how to reach the index, and where its cache is. No secrets."""


class InstallError(SandboxError):
    """uv could not create the environment or install the requirements; the message quotes uv."""


def with_pydantic(requirements: Iterable[str]) -> list[str]:
    """The packages to install: the requirements, plus pydantic unless they name it."""
    packages = list(requirements)
    if "pydantic" not in {package_name(r) for r in packages}:
        packages.append(PYDANTIC)
    return packages


def run_uv(args: Sequence[str], *, what: str) -> None:
    """Run `uv ARGS` with the installer's environment. Raises InstallError naming `what` and quoting uv."""
    try:
        subprocess.run(
            [str(find_uv()), *args], env=installer_env(), capture_output=True, text=True, check=True,
            timeout=INSTALL_TIMEOUT_S,
        )  # fmt: skip
    except subprocess.CalledProcessError as exc:
        raise InstallError(f"could not install {what}: {(exc.stderr or exc.stdout).strip()}") from None
    except subprocess.TimeoutExpired:
        raise InstallError(f"installing {what} took longer than {INSTALL_TIMEOUT_S} s") from None


def installer_env() -> dict[str, str]:
    """uv's environment: the server's index, proxy and certificate settings, never its secrets."""
    env = {key: value for key, value in os.environ.items() if _INSTALLER_ENV.match(key)}
    return {**env, "UV_PYTHON_DOWNLOADS": "never", "UV_NO_PROGRESS": "1"}


def find_uv() -> Path:
    """The uv binary: next to this interpreter (a virtualenv's bin), else from the `uv` package, else on PATH."""
    beside = Path(sys.executable).with_name("uv")
    if beside.exists():
        return beside
    try:
        from uv import find_uv_bin
    except ImportError:
        found = shutil.which("uv")
        if found is None:
            raise InstallError("uv is not installed: install the `uv` package next to toolhub") from None
        return Path(found)
    return Path(find_uv_bin())
