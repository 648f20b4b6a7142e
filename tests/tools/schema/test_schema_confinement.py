"""What the confined schema child can see, and what of its answer reaches the server.

The child sees /usr, the Python installation, the server's virtualenv and its own script, nothing
else of the host; the server caps whatever it answers; without bubblewrap the server refuses instead
of running the source unconfined.
"""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from toolhub.tools.schema.derive import ProbeLimits, ToolSchemaError, derive_json_schema
from toolhub.tools.schema.probe import DESCRIPTION_CHARS, ERROR_CHARS, _kept_paths, bwrap_command

SYSTEM_DIRS = {"usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32", "dev", "proc", "tmp"}

VIEW = '''
import os
from typing import Literal
ROOT = tuple(sorted(os.listdir("/")))
TMP = ("-",) + tuple(os.listdir("/tmp"))
FOUND = ("-",) + tuple(path for path in {paths!r} if os.path.lexists(path))


def view(root: Literal[ROOT], tmp: Literal[TMP], found: Literal[FOUND]):
    """Report what the child sees.

    Args:
        root: Entries of /.
        tmp: Entries of /tmp.
        found: Which of the server's paths exist.
    """
'''

MODEL_TOOL = '''
from typing import Annotated
from pydantic import BaseModel, Field


class Point(BaseModel):
    """A point."""

    x: int = Field(description={inner!r})


def move(point: Annotated[Point, Field(description={outer!r})]) -> str:
    """Move to a point.

    Args:
        point: Where to go.
    """
'''


def _view(paths: list[str]) -> dict[str, list]:
    schema = derive_json_schema(VIEW.format(paths=paths))
    return {name: prop["enum"] for name, prop in schema["parameters"]["properties"].items()}


def test_child_sees_only_the_system_and_the_python_it_runs(tmp_path: Path) -> None:
    home = tmp_path / "toolhub-home"
    home.mkdir()
    (home / "toolhub.db").write_text("secret")
    secrets = ["/etc", "/etc/shadow", "/etc/passwd", "/home", "/root/.bashrc", "/run", "/var", str(home)]
    seen = _view(secrets)
    kept_tops = {path.parts[1] for path in _kept_paths()}
    assert set(seen["root"]) <= SYSTEM_DIRS | kept_tops
    kept_in_tmp = {path.parts[2] for path in _kept_paths() if path.parts[1] == "tmp"}  # a clone under /tmp
    assert set(seen["tmp"]) - {"-"} <= kept_in_tmp
    assert seen["found"] == ["-"]


def test_what_the_source_could_read_never_reaches_the_error() -> None:
    source = MODEL_TOOL.format(inner="x", outer="o")
    source = source.replace("description='o'", "description=open('/etc/passwd').read()")
    with pytest.raises(ToolSchemaError, match="No such file or directory") as caught:
        derive_json_schema(source)
    assert "root:" not in str(caught.value)


def test_without_bubblewrap_evaluation_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no bwrap on it
    with pytest.raises(ToolSchemaError, match="needs bubblewrap") as caught:
        derive_json_schema(MODEL_TOOL.format(inner="x", outer="o"))
    assert "is not installed" in str(caught.value)
    static = 'def add(a: int) -> int:\n    """Add.\n\n    Args:\n        a: A number.\n    """\n    return a\n'
    assert derive_json_schema(static)["name"] == "add"  # the AST path needs no child


def test_descriptions_from_the_child_are_capped() -> None:
    long = DESCRIPTION_CHARS * 3
    schema = derive_json_schema(MODEL_TOOL.format(inner="i" * long, outer="o" * long))
    point = schema["parameters"]["properties"]["point"]
    assert len(point["description"]) == DESCRIPTION_CHARS and point["description"].startswith("ooo")
    (inner,) = [value for value in json.dumps(point, ensure_ascii=False).split('"') if value.startswith("iii")]
    assert len(inner) == DESCRIPTION_CHARS


FORGED = "import os\nos.write(3, {answer!r}.encode())\nos._exit(0)\n"


@pytest.mark.parametrize("sandbox", ["bwrap", "unconfined-test-only"])
def test_forged_errors_are_capped_by_the_server(sandbox: str) -> None:
    answer = json.dumps({"ok": False, "error": "E" * 100_000})
    source = FORGED.format(answer=answer) + MODEL_TOOL.format(inner="x", outer="o")
    with pytest.raises(ToolSchemaError) as caught:
        derive_json_schema(source, limits=ProbeLimits(sandbox=sandbox))  # type: ignore[arg-type]
    assert str(caught.value).count("E") <= ERROR_CHARS


def test_forged_descriptions_are_capped_by_the_server() -> None:
    entry = {"schema": {"type": "integer", "description": "n" * 100_000}, "description": "d" * 100_000}
    answer = json.dumps({"ok": True, "parameters": {"point": entry}})
    schema = derive_json_schema(FORGED.format(answer=answer) + MODEL_TOOL.format(inner="x", outer="o"))
    assert len(schema["parameters"]["properties"]["point"]["description"]) == DESCRIPTION_CHARS


def test_a_deeply_nested_answer_is_refused() -> None:
    schema = '{"items": ' * 900 + "{}" + "}" * 900
    answer = '{"ok": true, "parameters": {"point": {"description": null, "schema": ' + schema + "}}}"
    with pytest.raises(ToolSchemaError, match="nested too deeply"):
        derive_json_schema(FORGED.format(answer=answer) + MODEL_TOOL.format(inner="x", outer="o"))


def test_an_oversized_answer_is_refused() -> None:
    limits = ProbeLimits(answer_bytes=10_000)
    entry = {"schema": {"type": "integer", "enum": list(range(5_000))}, "description": "d"}
    answer = json.dumps({"ok": True, "parameters": {"point": entry}})
    with pytest.raises(ToolSchemaError, match="answered more than 10000 bytes"):
        derive_json_schema(FORGED.format(answer=answer) + MODEL_TOOL.format(inner="x", outer="o"), limits=limits)


def test_the_same_confinement_works_unprivileged() -> None:
    """A server not running as root gets bubblewrap's unprivileged mode (a user namespace) and the same view.

    The suite runs as root (the local sandbox needs it), with util-linux's setpriv and Debian's /usr/bin/python3,
    which `scripts/provision` installs when missing: an unprivileged uid can run that interpreter."""
    code = "import json, os; print(json.dumps([os.listdir('/'), os.path.exists('/etc'), os.getuid()]))"
    command = bwrap_command(shutil.which("bwrap") or "bwrap", [], ["/usr/bin/python3", "-I", "-c", code])
    nobody = ["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups", "--"]
    result = subprocess.run([*nobody, *command], env={"PATH": os.defpath}, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    root, etc, uid = json.loads(result.stdout)
    assert set(root) <= SYSTEM_DIRS
    assert (etc, uid) == (False, 65534)
