"""Sources whose types must be evaluated run in a confined child process.

Hostile top-level code ends in a ToolSchemaError, and the server process (this test process) keeps
its environment, working directory, modules and children as they were. Every case runs both inside
bubblewrap (what the server always uses) and with limits and audit hooks alone ("unconfined-test-only",
which only tests may use), so each layer is shown to hold by itself.
"""

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from toolhub.tools.schema.derive import ProbeLimits, ToolSchemaError, derive_json_schema
from toolhub.tools.schema.probe import bwrap_works

MODEL_TOOL = '''
from pydantic import BaseModel


class Point(BaseModel):
    x: int


def move(point: Point) -> str:
    """Move to a point.

    Args:
        point: Where to go.
    """
    return "ok"
'''

# top-level code placed before MODEL_TOOL → a fragment of the error message
HOSTILE = {
    "os.system": ("import os\nos.system('touch {marker}')", "os.system is not allowed"),
    "busy loop": ("while True:\n    pass", "timed out after 2 s"),
    "sleep": ("import time\ntime.sleep(60)", "timed out after 2 s"),
    "sys.exit": ("import sys\nsys.exit(3)", "exited (status 3)"),
    "huge allocation": ("x = bytearray(10**10)", "MemoryError"),
    "kill the parent": ("import os\nos.kill(os.getppid(), 9)", "os.kill is not allowed"),
    "os._exit": ("import os\nos._exit(0)", "exited with status 0 without a valid result"),
    "abort": ("import os\nos.abort()", "crashed (SIGABRT)"),
    "fork": ("import os\nos.fork()", "os.fork is not allowed"),
    "subprocess": ("import subprocess\nsubprocess.run(['touch', '{marker}'])", "subprocess.Popen is not allowed"),
    "write a file": ("open('{marker}', 'w').write('x')", "writing files is not allowed"),
    "network": (
        "import socket\nsocket.create_connection(('127.0.0.1', 9), timeout=1)",
        "socket.connect is not allowed",
    ),
    "ctypes": ("import ctypes\nctypes.CDLL(None)", "ctypes.dlopen is not allowed"),
    "flood stderr": ("import sys\nsys.stderr.write('x' * 10**8)\nsys.stderr.flush()", "File too large"),
    "raise": ("raise RuntimeError('boom')", "loading the source raised RuntimeError: boom"),
    "missing module": ("import no_such_module_here", "ModuleNotFoundError"),
}


@pytest.fixture(params=["bwrap", "unconfined-test-only"])
def limits(request: pytest.FixtureRequest) -> ProbeLimits:
    return ProbeLimits(timeout_seconds=2, sandbox=request.param)


@pytest.fixture
def server_untouched() -> Iterator[None]:
    """What a tool must never change in the server process."""
    environ, cwd, children = _environ(), os.getcwd(), set(_children())
    yield
    assert _environ() == environ
    assert os.getcwd() == cwd
    assert "tool_source" not in sys.modules
    assert set(_children()) <= children  # servers other tests started may live on; nothing new may


def _environ() -> dict[str, str]:
    return {key: value for key, value in os.environ.items() if key != "PYTEST_CURRENT_TEST"}


def _children() -> list[int]:
    """Live processes whose parent is this process (a killed child must also be reaped)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == os.getpid():
            found.append(int(stat.parent.name))
    return found


@pytest.mark.usefixtures("server_untouched")
@pytest.mark.parametrize(("head", "fragment"), HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_top_level_code_fails_cleanly(limits: ProbeLimits, head: str, fragment: str, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    with pytest.raises(ToolSchemaError) as caught:
        derive_json_schema(head.format(marker=marker) + MODEL_TOOL, limits=limits)
    assert "tool 'move'" in str(caught.value)
    assert fragment in str(caught.value)
    assert not marker.exists()


@pytest.mark.usefixtures("server_untouched")
def test_cpu_limit_stops_a_busy_loop(limits: ProbeLimits) -> None:
    tight = ProbeLimits(timeout_seconds=20, cpu_seconds=1, sandbox=limits.sandbox)
    with pytest.raises(ToolSchemaError, match=r"crashed \(CPU time limit exceeded\)"):
        derive_json_schema("while True:\n    pass\n" + MODEL_TOOL, limits=tight)


@pytest.mark.usefixtures("server_untouched")
def test_printing_at_import_cannot_forge_the_answer(limits: ProbeLimits) -> None:
    forged = 'print(\'{"ok": true, "parameters": {"point": {"schema": {"type": "string"}, "description": "x"}}}\')\n'
    schema = derive_json_schema(forged + MODEL_TOOL, limits=limits)
    assert schema["parameters"]["properties"]["point"]["type"] == "object"


TAMPERED = {
    "garbage first": ("os.write(3, b'[' * 100000)", "without a valid result"),
    "wrong parameters": ('os.write(3, b\'{"ok": true, "parameters": {}}\'); os._exit(0)', "wrong parameters"),
    "no schema": ('os.write(3, b\'{"ok": true, "parameters": {"point": {}}}\'); os._exit(0)', "malformed data"),
    "not an object": ("os.write(3, b'[1]'); os._exit(0)", "malformed data"),
    "NaN": ("os.write(3, b'NaN'); os._exit(0)", "without a valid result"),
}


@pytest.mark.parametrize(("head", "fragment"), TAMPERED.values(), ids=TAMPERED.keys())
def test_tampering_with_the_answer_channel_is_an_error(limits: ProbeLimits, head: str, fragment: str) -> None:
    """fd 3 is the child's private copy of stdout. A well-formed forgery is still only data about the
    author's own tool, validated like any answer; anything else is rejected."""
    with pytest.raises(ToolSchemaError, match=fragment):
        derive_json_schema(f"import os\n{head}\n" + MODEL_TOOL, limits=limits)


def _observed(source_head: str, limits: ProbeLimits) -> dict[str, list]:
    """Facts about the child, smuggled out as Literal values of a tool's parameters."""
    source = (
        source_head
        + '''
def observe(env: Literal[ENV], uid: Literal[UID], nics: Literal[NICS], root_writable: Literal[ROOT_WRITABLE]):
    """Report what the child sees.

    Args:
        env: Environment variable names.
        uid: User id.
        nics: Network interfaces.
        root_writable: Whether /usr is writable.
    """
'''
    )
    schema = derive_json_schema(source, limits=limits)
    return {name: prop["enum"] for name, prop in schema["parameters"]["properties"].items()}


OBSERVE = """
import os, socket
from typing import Literal
ENV = tuple(sorted(os.environ))
UID = os.getuid()
NICS = tuple(name for _, name in socket.if_nameindex())
ROOT_WRITABLE = os.access("/usr", os.W_OK)
"""


def test_child_gets_no_server_environment(limits: ProbeLimits, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOOLHUB_TEST_SECRET", "hunter2")
    seen = _observed(OBSERVE, limits)
    assert "TOOLHUB_TEST_SECRET" not in seen["env"]
    assert set(seen["env"]) <= {"PATH", "LC_ALL", "PWD"}


def test_bubblewrap_confines_the_child() -> None:
    assert bwrap_works(), "bubblewrap is installed on this machine kind and must work"
    seen = _observed(OBSERVE, ProbeLimits(sandbox="bwrap"))
    assert seen["uid"] == [65534]
    assert seen["nics"] == ["lo"]
    assert seen["root_writable"] == [False]
