"""toolhub: an MCP-native tool hub and sandboxed executor with a Letta-compatible REST API."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("toolhub")
except PackageNotFoundError:  # running from a checkout that was never installed
    __version__ = "0.0.0"
