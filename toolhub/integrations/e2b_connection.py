"""How toolhub talks to E2B: key and endpoints passed explicitly, debug mode always off.

The SDK reads `E2B_API_URL`/`E2B_SANDBOX_URL` itself only through a deprecated path, and `E2B_DEBUG` would make it
skip create, timeout and kill, so every call passes them here instead.
"""

from collections.abc import Mapping
from typing import Any

from toolhub.integrations.keys import endpoint, service_key


def connection_options(secrets: Mapping[str, str]) -> dict[str, Any]:
    """Keyword arguments for `AsyncSandbox.create`/`connect`."""
    key, _ = service_key("E2B_API_KEY", secrets)
    return {
        "api_key": key,
        "api_url": endpoint("E2B_API_URL"),
        "sandbox_url": endpoint("E2B_SANDBOX_URL"),
        "debug": False,
    }
