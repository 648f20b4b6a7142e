"""The FastAPI application factory."""

import asyncio
import gc
import logging
import os
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from starlette.routing import Route

from toolhub import __version__
from toolhub.agent.llm.providers import Providers
from toolhub.config.settings import Settings, load_settings
from toolhub.cache import TTLCache
from toolhub.server.auth import authenticate
from toolhub.server.errors import install_error_handlers
from toolhub.server.mcp_endpoint.http import MCPEndpoint
from toolhub.server.middleware import (
    BodyLimitMiddleware,
    CanonicalPathMiddleware,
    RequestLogMiddleware,
    StrictInputMiddleware,
)
from toolhub.server.routers import (
    admin,
    agents,
    blocks,
    health,
    mcp,
    mcp_profiles,
    mcp_servers,
    messages,
    models,
    runs,
    sandbox_config,
    tools,
)
from toolhub.mcp_bridge.options import BridgeOptions, MCPTimeouts
from toolhub.sandbox.base import Sandbox, SandboxError, Startable
from toolhub.sandbox.registry import build_backends
from toolhub.services import (
    AgentService,
    BlockService,
    MCPProfileService,
    MCPServerService,
    MessageService,
    RunService,
    SandboxConfigService,
    Services,
    ToolChanges,
    ToolService,
    UserService,
)
from toolhub.services.callbacks import Callbacks
from toolhub.store.crypto import SecretBox, stored_key
from toolhub.store.db import Database
from toolhub.store.migrate import upgrade_to_head
from toolhub.store.repositories import Actor
from toolhub.tools.executor import ToolExecutor
from toolhub.tools.mcp_hub import MCPHub

logger = logging.getLogger("toolhub.server")


def _build_hub(settings: Settings) -> MCPHub:
    timeouts = MCPTimeouts(
        connect=settings.mcp_connect_timeout, list_tools=settings.mcp_list_timeout, call=settings.mcp_call_timeout
    )
    options = BridgeOptions(timeouts=timeouts, allow_stdio=not settings.mcp_disable_stdio)
    return MCPHub(options, settings.effective_mcp_config)


def build_services(
    settings: Settings,
    db: Database,
    *,
    sandboxes: Mapping[str, Sandbox] | None = None,
    hub: MCPHub | None = None,
    server_env: Mapping[str, str] | None = None,
    providers: Providers | None = None,
) -> Services:
    """Wire the services over `db`; tests pass fake `sandboxes` (and a `server_env`) to run in-process, and
    `providers` instead of those the process environment configures."""
    if sandboxes is None:
        sandboxes = build_backends(settings.home, docker_owner=settings.effective_instance_id)
    hub = hub or _build_hub(settings)
    actors: TTLCache[str, Actor] = TTLCache()
    sandbox_configs = SandboxConfigService(db, settings, sandboxes)
    executor = ToolExecutor(
        sandboxes, hub, configs=sandbox_configs, default_sandbox=settings.sandbox, server_env=server_env
    )
    providers = providers or Providers.from_env(os.environ)
    callbacks = Callbacks(db)
    agents = AgentService(
        db,
        _secret_box(settings),
        executor,
        default_model=settings.default_model,
        default_agent_type=settings.default_agent_type,
    )
    tool_changes = ToolChanges()
    return Services(
        db=db,
        executor=executor,
        mcp_hub=hub,
        tools=ToolService(db, tool_changes),
        sandbox_configs=sandbox_configs,
        mcp_servers=MCPServerService(db, hub, tool_changes),
        mcp_profiles=MCPProfileService(db, tool_changes),
        tool_changes=tool_changes,
        users=UserService(db, actors),
        agents=agents,
        blocks=BlockService(db),
        messages=MessageService(
            db,
            executor,
            providers,
            agents,
            instance_id=settings.effective_instance_id,
            workers=settings.run_workers,
            callbacks=callbacks,
            approval_timeout=settings.approval_timeout_seconds,
            reply_timeout=settings.agent_reply_timeout_seconds,
        ),
        runs=RunService(db),
        callbacks=callbacks,
        actors=actors,
        providers=providers,
    )


def _secret_box(settings: Settings) -> SecretBox:
    """The key of agent secrets: the setting, else the one kept in the home (made on first use)."""
    if settings.encryption_key is not None:
        return SecretBox(settings.encryption_key.get_secret_value())
    return SecretBox(stored_key(settings.home / "encryption-key"))


async def _start_sandboxes(executor: ToolExecutor, default: str) -> None:
    """Each backend's start-up work, in the background (Docker: connect and remove this instance's leftovers;
    local: check that it can confine tools here), so that a backend that cannot run is said at start-up, not at
    the first call. Only the default backend's absence is a warning: Docker is optional."""
    for name in executor.available():
        backend = executor.sandbox(name)
        if not isinstance(backend, Startable):
            continue
        try:
            await backend.start()
        except SandboxError as exc:
            level = logging.WARNING if name == default else logging.INFO
            logger.log(level, "%s sandbox unavailable, its tool calls will fail: %s", name, exc)
        else:
            logger.info("%s sandbox ready", name)


GC_THRESHOLDS = (10_000, 20, 20)
"""Cyclic GC thresholds once started: Python's default first threshold (700 allocations) makes a busy server spend a
tenth of its time collecting, most of it in full collections that walk every module and model loaded at start."""


def _settle_heap() -> None:
    """Keep what start-up loaded (modules, models, routes) out of every later collection, then collect less often."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def create_app(settings: Settings | None = None, *, services: Services | None = None) -> FastAPI:
    """Build the app; the database is opened and migrated in the lifespan, not at import.

    With `services`, the app runs on those (tests inject fakes in-process): their database is migrated and they
    are closed with the app, but the start-up checks of the real sandboxes are skipped.
    """
    settings = settings or load_settings()
    mcp_endpoint = MCPEndpoint()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        settings.home.mkdir(parents=True, exist_ok=True)
        running = services or build_services(settings, Database(settings.effective_database_url))
        await upgrade_to_head(running.db.engine)
        app.state.services = running
        app.state.db = running.db
        app.state.actors = running.actors
        await running.mcp_hub.start(running.db)
        if failed := await running.messages.fail_unfinished_runs():
            logger.warning("%d run(s) left unfinished by the last stop were marked failed", failed)
        checks = [] if services else [asyncio.create_task(_start_sandboxes(running.executor, settings.sandbox))]
        database = running.db.engine.url.render_as_string(hide_password=True)
        if services is None:  # a real server, not an app a test builds around fakes (one process, many apps)
            _settle_heap()
        logger.info("ready", extra={"fields": {"database": database}})
        try:
            yield
        finally:
            for check in checks:
                check.cancel()
            await mcp_endpoint.aclose()
            await running.messages.runs.close()
            await running.callbacks.close()
            await running.executor.close()
            await running.providers.aclose()
            await running.db.dispose()

    app = FastAPI(title="toolhub", version=__version__, lifespan=lifespan, redirect_slashes=False)
    app.state.settings = settings
    install_error_handlers(app)

    app.include_router(health.router)
    protected = [Depends(authenticate)]
    routers = (admin, mcp, mcp_profiles, mcp_servers, tools, sandbox_config, agents, messages, runs, blocks, models)
    for module in routers:
        app.include_router(module.router, dependencies=protected)
    # The MCP endpoint authenticates on its own (its refusals must happen before the SDK sees a request). First in
    # the table: every tool call is a request there, and matching it after the REST routes costs ~100 path checks.
    app.router.routes[:0] = [Route("/mcp", mcp_endpoint), Route("/mcp/{profile}", mcp_endpoint)]

    # Last added runs first: paths are canonical, then every request is logged (refusals included), then bodies
    # are size-checked and held to strict input (no NUL, strict JSON) before any endpoint reads them.
    app.add_middleware(StrictInputMiddleware)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_request_mb * 1024 * 1024)
    app.add_middleware(RequestLogMiddleware)
    app.add_middleware(CanonicalPathMiddleware)
    return app
