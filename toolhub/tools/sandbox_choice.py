"""Which sandbox runs a custom tool, and with which stored config and environment variables.

Precedence: the server default (`TOOLHUB_SANDBOX`), then the agent's choice (agent `metadata.tool_sandbox`),
then the tool's (`metadata_.sandbox`). Each is read, none is written: choosing one never moves the others.
"""

from collections.abc import Mapping
from typing import Any

from toolhub.cache import TTLCache
from toolhub.errors import InvalidInputError
from toolhub.sandbox.config_models import CONFIG_MODELS
from toolhub.store.db import Database
from toolhub.store.repositories import Actor
from toolhub.store.repositories.sandbox_configs import SandboxConfigRepository, SandboxEnvVarRepository
from toolhub.tools.executor import SandboxChoice


def sandbox_type_for(
    server_default: str, agent_metadata: Mapping[str, Any] | None = None, tool_metadata: Mapping[str, Any] | None = None
) -> str:
    chosen = server_default
    for metadata, key in ((agent_metadata, "tool_sandbox"), (tool_metadata, "sandbox")):
        if metadata and metadata.get(key):
            chosen = metadata[key]
    if not isinstance(chosen, str) or chosen not in CONFIG_MODELS:  # stored metadata may predate validation
        raise InvalidInputError(f"Unknown sandbox {chosen!r}; use one of {sorted(CONFIG_MODELS)}")
    return chosen


async def load_sandbox(
    configs: SandboxConfigRepository, env_vars: SandboxEnvVarRepository, sandbox_type: str
) -> tuple[SandboxChoice, dict[str, str]]:
    """The organization's stored config of this type (defaults when it has none) and its env vars."""
    row = await configs.for_type(sandbox_type)
    if row is None:
        return SandboxChoice(sandbox_type=sandbox_type, config=CONFIG_MODELS[sandbox_type]().model_dump()), {}
    return SandboxChoice(sandbox_type=sandbox_type, config=row.config), await env_vars.as_dict(row.id)


async def cached_sandbox(
    cache: TTLCache[tuple[str, str], tuple[SandboxChoice, dict[str, str]]],
    db: Database,
    actor: Actor,
    sandbox_type: str,
) -> tuple[SandboxChoice, dict[str, str]]:
    """`load_sandbox` without a database round trip on most calls (see `toolhub.cache` for staleness)."""
    key = (actor.organization_id, sandbox_type)
    found = cache.get(key)
    if found is None:
        async with db.session() as session:
            found = await load_sandbox(
                SandboxConfigRepository(session, actor), SandboxEnvVarRepository(session, actor), sandbox_type
            )
        cache.put(key, found)
    return found
