"""Sandbox configs and their environment variables: every write, the checks on it, and the cached read that tool
calls make.

Tool calls read an organization's config through a short-lived cache (see `toolhub.cache`). Every write goes
through `_writing`, which drops that organization's cache entries once the write has committed, so this replica
never runs a tool under a config it has just replaced.
"""

from __future__ import annotations  # methods named `list` must not shadow the builtin in annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from toolhub.cache import TTLCache
from toolhub.config.settings import Settings
from toolhub.errors import ForbiddenError, InvalidInputError
from toolhub.sandbox.base import Sandbox, SandboxError
from toolhub.sandbox.config_models import (
    CONFIG_MODELS,
    admin_only_changes,
    parse_sandbox_config,
    requirement_strings,
)
from toolhub.sandbox.requirements import overlaps
from toolhub.store.db import Database
from toolhub.store.models import SandboxConfig, SandboxEnvVar
from toolhub.store.repositories import Actor
from toolhub.store.repositories.base import Order
from toolhub.store.repositories.sandbox_configs import (
    SandboxConfigRepository,
    SandboxEnvVarRepository,
)
from toolhub.tools.sandbox_choice import SandboxChoice, load_sandbox


@dataclass(frozen=True)
class _Repos:
    configs: SandboxConfigRepository
    env_vars: SandboxEnvVarRepository


class SandboxConfigService:
    """Implements `toolhub.tools.sandbox_choice.SandboxConfigLookup` for the executor.

    Args:
        db: The database.
        settings: For the paths a sandbox_dir may not expose (the server's home, MCP config, SQLite file).
        sandboxes: The backends, for Letta's recreate-venv.
        cache: The lookup cache, keyed by (organization id, sandbox type).
    """

    def __init__(
        self,
        db: Database,
        settings: Settings,
        sandboxes: Mapping[str, Sandbox],
        cache: TTLCache[tuple[str, str], SandboxChoice] | None = None,
    ) -> None:
        self._db = db
        self._settings = settings
        self._sandboxes = sandboxes
        self._cache: TTLCache[tuple[str, str], SandboxChoice] = cache or TTLCache()

    # ---- the executor's read ---------------------------------------------------------------------------------------

    async def choice_for(self, actor: Actor, sandbox_type: str) -> SandboxChoice:
        """The organization's config of this type (defaults when it has none) and its env vars, usually without a
        database round trip."""
        key = (actor.organization_id, sandbox_type)
        found = self._cache.get(key)
        if found is None:
            async with self._db.session() as session:
                found = await load_sandbox(
                    SandboxConfigRepository(session, actor), SandboxEnvVarRepository(session, actor), sandbox_type
                )
            self._cache.put(key, found)
        return found

    # ---- reads -----------------------------------------------------------------------------------------------------

    async def list(
        self,
        actor: Actor,
        sandbox_type: str | None = None,
        *,
        after: str | None = None,
        before: str | None = None,
        limit: int | None = None,
        order: Order = "asc",
    ) -> list[SandboxConfig]:
        """One page of the organization's configs, of one type when `sandbox_type` is given."""
        conditions = [SandboxConfig.type == sandbox_type] if sandbox_type else []
        async with self._db.session() as session:
            return await SandboxConfigRepository(session, actor).list(
                *conditions, after=after, before=before, limit=limit, order=order
            )

    async def env_vars(
        self,
        actor: Actor,
        config_id: str,
        *,
        after: str | None = None,
        before: str | None = None,
        limit: int | None = None,
        order: Order = "asc",
    ) -> list[SandboxEnvVar]:
        """One page of a config's environment variables. Raises NotFoundError when the config is not the
        organization's."""
        async with self._db.session() as session:
            repos = _repos(session, actor)
            await repos.configs.get(config_id)
            return await repos.env_vars.for_config(config_id, after=after, before=before, limit=limit, order=order)

    # ---- writes ----------------------------------------------------------------------------------------------------

    @asynccontextmanager
    async def _writing(self, actor: Actor) -> AsyncIterator[_Repos]:
        """The one way to change an organization's configs: commit, then forget its cached configs."""
        try:
            async with self._db.session() as session:
                yield _repos(session, actor)
        finally:
            self._cache.forget(lambda key: key[0] == actor.organization_id)

    async def put(
        self, actor: Actor, body: Mapping[str, Any], sandbox_type: str | None = None, *, is_admin: bool
    ) -> SandboxConfig:
        """Create or replace the organization's config of the body's type (one config per type)."""
        kind, config = parse_sandbox_config(dict(body), sandbox_type)
        async with self._writing(actor) as repos:
            stored = await repos.configs.for_type(kind)
            self._check(is_admin, kind, config, stored.config if stored is not None else {})
            return await repos.configs.put(kind, config)

    async def default(self, actor: Actor, sandbox_type: str) -> SandboxConfig:
        """The organization's config of this type, created with the defaults when it has none."""
        async with self._writing(actor) as repos:
            return await repos.configs.get_or_create(sandbox_type, CONFIG_MODELS[sandbox_type]().model_dump())

    async def update(
        self, actor: Actor, config_id: str, changes: Mapping[str, Any], *, is_admin: bool
    ) -> SandboxConfig:
        async with self._writing(actor) as repos:
            row = await repos.configs.get(config_id)
            _, merged = parse_sandbox_config({**row.config, **changes}, row.type)
            self._check(is_admin, row.type, merged, row.config)
            row.config = merged
            return await repos.configs.touch(row)

    async def delete(self, actor: Actor, config_id: str) -> None:
        async with self._writing(actor) as repos:
            await repos.configs.delete(config_id)

    async def create_env_var(
        self, actor: Actor, config_id: str, key: str, value: str, description: str | None
    ) -> SandboxEnvVar:
        async with self._writing(actor) as repos:
            await repos.configs.get(config_id)
            return await repos.env_vars.create(config_id, key, value, description)

    async def update_env_var(self, actor: Actor, env_var_id: str, changes: Mapping[str, Any]) -> SandboxEnvVar:
        async with self._writing(actor) as repos:
            return await repos.env_vars.update(env_var_id, dict(changes))

    async def delete_env_var(self, actor: Actor, env_var_id: str) -> None:
        async with self._writing(actor) as repos:
            await repos.env_vars.delete(env_var_id)

    async def recreate_local_venv(self, actor: Actor) -> SandboxConfig:
        """Rebuild the virtualenv of the organization's local config requirements (a fresh install).

        Raises:
            InvalidInputError: the build failed (a requirement that does not install); the message says why.
        """
        row = await self.default(actor, "local")
        requirements = requirement_strings(row.config.get("pip_requirements"))
        try:
            await self._sandboxes["local"].recreate(requirements)  # type: ignore[attr-defined]
        except SandboxError as exc:
            raise InvalidInputError(f"Recreating the virtualenv failed: {type(exc).__name__}: {exc}") from None
        return row

    # ---- checks ----------------------------------------------------------------------------------------------------

    def _check(self, is_admin: bool, kind: str, config: Mapping[str, Any], stored: Mapping[str, Any]) -> None:
        _check_admin_only(is_admin, kind, config, stored)
        _check_sandbox_dir(self._settings, config)


def _repos(session: AsyncSession, actor: Actor) -> _Repos:
    return _Repos(SandboxConfigRepository(session, actor), SandboxEnvVarRepository(session, actor))


def _check_admin_only(is_admin: bool, kind: str, config: Mapping[str, Any], stored: Mapping[str, Any]) -> None:
    """403 naming each admin-only setting (see `config_models.ADMIN_ONLY`) a user API key would change."""
    changed = [] if is_admin else admin_only_changes(kind, config, stored)
    if changed:
        raise ForbiddenError(
            f"Only the server admin (password) may set {', '.join(changed)} of a {kind} sandbox config; "
            "a user API key may not"
        )


def _check_sandbox_dir(settings: Settings, config: Mapping[str, Any]) -> None:
    """400 for a sandbox_dir that would expose the server's own files (its home holds the database and venvs),
    even when the admin asks: tools see that directory."""
    if not config.get("sandbox_dir"):
        return
    chosen = Path(config["sandbox_dir"]).expanduser().resolve()
    home = settings.home.resolve()
    if overlaps(chosen, home):
        raise InvalidInputError(
            f"sandbox_dir {str(chosen)!r} is, contains or lies inside the server's home {str(home)!r} "
            "(TOOLHUB_HOME, which holds its database); pick a directory outside it"
        )
    for name, path in _server_files(settings):
        if chosen in path.parents:
            raise InvalidInputError(f"sandbox_dir {str(chosen)!r} contains the server's {name} {str(path)!r}")


def _server_files(settings: Settings) -> list[tuple[str, Path]]:
    files = [("MCP config (it holds secrets)", settings.effective_mcp_config.resolve())]
    if settings.is_sqlite:
        database = make_url(settings.effective_database_url).database or ""
        files.append(("SQLite database", Path(database).expanduser().resolve()))
    return files
