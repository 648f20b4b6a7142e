"""Run a script with the official letta-client 1.12.1.

The 1.x SDK is the same `letta_client` package as the 0.1.197 in the test environment, so it lives in a
virtualenv of its own (`.venv-letta1`, made by `scripts/bootstrap dev`) and runs in a subprocess with a timeout:
a client that loops (say, paging forever) fails its test instead of hanging it. The script prints one JSON
document on stdout; that document is the result.
"""

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

LETTA1_PYTHON = Path(__file__).resolve().parents[2] / ".venv-letta1" / "bin" / "python"
TIMEOUT_SECONDS = 60


def run_letta1(script: str, *args: str, timeout: float = TIMEOUT_SECONDS) -> Any:
    """Run `script` (Python source; `sys.argv[1:]` is `args`) under letta-client 1.12.1; its JSON output."""
    if not LETTA1_PYTHON.exists():
        pytest.fail(f"{LETTA1_PYTHON} is missing: run scripts/bootstrap dev")
    try:
        command = [str(LETTA1_PYTHON), "-c", script, *args]
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the letta-client 1.x script did not finish in {timeout}s")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)
