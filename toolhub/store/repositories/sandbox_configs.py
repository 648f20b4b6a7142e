"""Sandbox configurations and their environment variables, for one organization."""

from typing import Any

from toolhub.errors import ConflictError
from toolhub.store.ids import new_id
from toolhub.store.models import SandboxConfig, SandboxEnvVar
from toolhub.store.repositories.base import Order, OrgRepository


class SandboxConfigRepository(OrgRepository[SandboxConfig]):
    model = SandboxConfig
    label = "Sandbox config"

    def conflict_message(self, row: SandboxConfig) -> str:
        return f"The organization already has a {row.type} sandbox config (one per type)"

    async def for_type(self, sandbox_type: str) -> SandboxConfig | None:
        return await self.find(SandboxConfig.type == sandbox_type)

    async def put(self, sandbox_type: str, config: dict[str, Any]) -> SandboxConfig:
        """Create or replace the organization's config of this type (one per type, as in Letta)."""
        existing = await self.for_type(sandbox_type)
        if existing is None:
            return await self.add(SandboxConfig(id=new_id("sandbox"), type=sandbox_type, config=config))
        existing.config = config
        return await self.touch(existing)

    async def get_or_create(self, sandbox_type: str, default: dict[str, Any]) -> SandboxConfig:
        return await self.for_type(sandbox_type) or await self.put(sandbox_type, default)


class SandboxEnvVarRepository(OrgRepository[SandboxEnvVar]):
    model = SandboxEnvVar
    label = "Sandbox environment variable"

    def conflict_message(self, row: SandboxEnvVar) -> str:
        return f"Environment variable {row.key} already exists for sandbox config {row.sandbox_config_id}"

    async def for_config(
        self,
        config_id: str,
        after: str | None = None,
        limit: int | None = None,
        *,
        before: str | None = None,
        order: Order = "asc",
    ) -> list[SandboxEnvVar]:
        return await self.list(
            SandboxEnvVar.sandbox_config_id == config_id, after=after, limit=limit, before=before, order=order
        )

    async def as_dict(self, config_id: str) -> dict[str, str]:
        return {row.key: row.value for row in await self.for_config(config_id)}

    async def create(self, config_id: str, key: str, value: str, description: str | None) -> SandboxEnvVar:
        if await self.find(SandboxEnvVar.sandbox_config_id == config_id, SandboxEnvVar.key == key):
            raise ConflictError(f"Environment variable {key} already exists for sandbox config {config_id}")
        row = SandboxEnvVar(
            id=new_id("sandbox-env"), sandbox_config_id=config_id, key=key, value=value, description=description
        )
        return await self.add(row)

    async def update(self, env_var_id: str, changes: dict[str, Any]) -> SandboxEnvVar:
        row = await self.get(env_var_id)
        new_key = changes.get("key")
        if new_key and new_key != row.key:
            clash = await self.find(SandboxEnvVar.sandbox_config_id == row.sandbox_config_id, SandboxEnvVar.key == new_key)
            if clash:
                raise ConflictError(f"Environment variable {new_key} already exists for this sandbox config")
        for field, value in changes.items():
            setattr(row, field, value)
        return await self.touch(row)


