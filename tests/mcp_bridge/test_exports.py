"""The bridge's public surface: `__all__` lists every public name, sorted, and importing it stays cheap."""

import subprocess
import sys

import toolhub.mcp_bridge as bridge


def test_all_is_sorted_and_importable() -> None:
    assert bridge.__all__ == sorted(bridge.__all__)
    assert all(hasattr(bridge, name) for name in bridge.__all__)


def test_importing_the_bridge_does_not_import_the_mcp_sdk() -> None:
    code = (
        "import sys, toolhub.mcp_bridge\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('mcp', 'mcp_types', 'httpx2')))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == "[]"
