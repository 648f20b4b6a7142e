"""Which sandbox runs a custom tool, and with which stored config and environment variables.

Precedence: the server default (`TOOLHUB_SANDBOX`), then the agent's choice (agent `metadata.tool_sandbox`),
then the tool's (`metadata_.sandbox`). Each is read, none is written: choosing one never moves the others.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from toolhub.errors import InvalidInputError
from toolhub.sandbox.config_models import CONFIG_MODELS
from toolhub.store.repositories import Actor
from toolhub.store.repositories.sandbox_configs import (
    SandboxConfigRepository,
    SandboxEnvVarRepository,
)


@dataclass(frozen=True, kw_only=True)
class SandboxChoice:
    """Which sandbox runs a custom tool, with its stored config (as saved by `/v1/sandbox-config`)."""

    sandbox_type: str
    config: Mapping[str, Any] = field(default_factory=dict)
    env: Mapping[str, str] = field(default_factory=dict)
    """The config's environment variables: secrets, redacted from what the tool prints and returns."""


class SandboxConfigLookup(Protocol):
    """Where the executor finds an organization's sandbox config (the sandbox-config service, behind a cache)."""

    async def choice_for(self, actor: Actor, sandbox_type: str) -> SandboxChoice: ...


def choose_sandbox(server_default: str, *choices: object) -> str:
    """The last choice that is set wins (server default, then agent, then tool).

    Raises:
        InvalidInputError: the winner is not a sandbox type (stored metadata may predate validation).
    """
    chosen: object = server_default
    for choice in choices:
        if choice:
            chosen = choice
    if not isinstance(chosen, str) or chosen not in CONFIG_MODELS:
        raise InvalidInputError(f"Unknown sandbox {chosen!r}; use one of {sorted(CONFIG_MODELS)}")
    return chosen


async def load_sandbox(
    configs: SandboxConfigRepository, env_vars: SandboxEnvVarRepository, sandbox_type: str
) -> SandboxChoice:
    """The organization's stored config of this type (defaults when it has none) and its env vars."""
    row = await configs.for_type(sandbox_type)
    if row is None:
        return SandboxChoice(sandbox_type=sandbox_type, config=CONFIG_MODELS[sandbox_type]().model_dump())
    return SandboxChoice(sandbox_type=sandbox_type, config=row.config, env=await env_vars.as_dict(row.id))
