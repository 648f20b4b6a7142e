"""Tools with pip requirements: one cached virtualenv per requirement set, clear errors when that fails."""

from pathlib import Path

import pytest

from tests.sandbox.helpers import tool
from toolhub.sandbox.base import Sandbox
from toolhub.sandbox.requirements import InvalidRequirementError, normalize, normalize_all

COWSAY = """
def moo(text: str) -> str:
    import cowsay
    return cowsay.get_output_string("cow", text)
"""


async def test_tool_with_a_requirement(sandbox: Sandbox) -> None:
    result = await sandbox.run(tool(COWSAY, {"text": "hello from a venv"}, pip_requirements=("cowsay",)))
    assert result.status == "success", result.error
    assert "hello from a venv" in result.func_return
    assert "^__^" in result.func_return


async def test_requirements_do_not_leak_into_other_environments(sandbox: Sandbox) -> None:
    await sandbox.run(tool(COWSAY, {"text": "x"}, pip_requirements=("cowsay",)))
    result = await sandbox.run(tool(COWSAY, {"text": "x"}))
    assert result.error == "Error executing function moo: ModuleNotFoundError: No module named 'cowsay'"


async def test_requirements_txt_in_the_sandbox_dir(sandbox: Sandbox, tmp_path: Path) -> None:
    tmp_path.chmod(0o755)
    (tmp_path / "requirements.txt").write_text("# what the tools here need\ncowsay  # talking animals\n\n")
    result = await sandbox.run(tool(COWSAY, {"text": "from requirements.txt"}, sandbox_dir=tmp_path))
    assert "from requirements.txt" in result.func_return


async def test_install_failure_quotes_the_installer(sandbox: Sandbox) -> None:
    result = await sandbox.run(tool(COWSAY, {"text": "x"}, pip_requirements=("toolhub-no-such-package-xq7",)))
    assert result.status == "error"
    assert result.error.startswith("Error executing function moo: InstallError: could not install toolhub-no-such")
    assert "toolhub-no-such-package-xq7" in result.error.split(":", 3)[3]  # uv's own words follow


@pytest.mark.parametrize("requirement", ["--index-url=http://example.invalid", "pkg @ https://x/y.whl", "../here", ""])
async def test_requirement_that_is_not_a_package_is_refused(sandbox: Sandbox, requirement: str) -> None:
    result = await sandbox.run(tool(COWSAY, {"text": "x"}, pip_requirements=(requirement,)))
    assert result.error.startswith("Error executing function moo: InvalidRequirementError: invalid requirement")


@pytest.mark.parametrize(
    ("given", "canonical"),
    [
        ("cowsay", "cowsay"),
        ("Cow_Say==6.1", "cow-say==6.1"),
        ("requests[socks] >= 2.0, < 3", "requests[socks]>=2.0,<3"),
        ("zope.interface~=6.0", "zope-interface~=6.0"),
    ],
)
def test_requirements_are_normalized(given: str, canonical: str) -> None:
    assert normalize(given) == canonical


def test_equal_sets_are_one_key() -> None:
    assert normalize_all(["b==1", "A", "a", "B == 1"]) == ("a", "b==1")


def test_invalid_requirement_message() -> None:
    with pytest.raises(InvalidRequirementError, match="'-e .'"):
        normalize("-e .")
