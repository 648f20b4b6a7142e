"""Every example in examples/ runs against a real server and prints what its docstring promises."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).parents[2] / "examples"


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ("custom_tool.py", "run: success You rolled a"),
        ("pydantic_tool.py", "registered manage_inventory with tags ['inventory', 'shop']"),
        ("mcp_servers.py", "run: success"),
        ("env_vars.py", "success Oslo: 21 degrees (imperial), called with key ending 1234"),
        ("docker_sandbox.py", '"root_filesystem": "read-only", "secret": "[REDACTED]"'),  # config secrets are redacted
    ],
)
def test_example_runs(server, script, expected):
    env = {**os.environ, "TOOLHUB_URL": server.base_url, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / script)], env=env, capture_output=True, text=True, timeout=900
    )
    assert result.returncode == 0, result.stderr
    assert expected in result.stdout
