"""Where a cloud service's key and endpoint come from: the agent's secrets first, then the server's environment."""

import os
from collections.abc import Mapping


class BuiltinToolError(ValueError):
    """A built-in tool failed in a way the model should read; a ValueError so the agent loop reports it as one."""


def service_key(name: str, secrets: Mapping[str, str]) -> tuple[str, str]:
    """The key and where it came from (Letta's `api_key_source`); an empty key is a clear error, not a keyless call."""
    if secrets.get(name):
        return secrets[name], "agent_environment"
    if os.environ.get(name):
        return os.environ[name], "system_settings"
    raise BuiltinToolError(f"{name} is not set: add it to the agent's secrets or the server's environment")


def endpoint(name: str) -> str | None:
    """An endpoint override from the server's environment (unset or empty: the SDK's default host)."""
    return os.environ.get(name) or None
