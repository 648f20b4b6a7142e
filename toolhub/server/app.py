"""The FastAPI application factory."""

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI

from toolhub import __version__
from toolhub.config.settings import Settings, load_settings
from toolhub.cache import TTLCache
from toolhub.server.auth import authenticate
from toolhub.server.errors import install_error_handlers
from toolhub.server.middleware import (
    BodyLimitMiddleware,
    CanonicalPathMiddleware,
    RequestLogMiddleware,
    StrictInputMiddleware,
)
from toolhub.server.routers import admin, health, mcp, sandbox_config, tools
from toolhub.store.db import Database
from toolhub.store.migrate import upgrade_to_head
from toolhub.mcp_bridge.options import BridgeOptions, MCPTimeouts
from toolhub.tools.executor import ToolExecutor
from toolhub.tools.mcp_hub import MCPHub

logger = logging.getLogger("toolhub.server")


def _build_executor(settings: Settings) -> ToolExecutor:
    """Sandbox backends start nothing until their first call, so building them costs no start-up time."""
    from toolhub.sandbox.docker.sandbox import DockerOptions, DockerSandbox
    from toolhub.sandbox.local.sandbox import LocalSandbox

    local = LocalSandbox(settings.home / "venvs", private_dirs=[settings.home])
    docker = DockerSandbox(settings.home / "docker", DockerOptions(owner=settings.effective_instance_id))
    timeouts = MCPTimeouts(
        connect=settings.mcp_connect_timeout, list_tools=settings.mcp_list_timeout, call=settings.mcp_call_timeout
    )
    options = BridgeOptions(timeouts=timeouts, allow_stdio=not settings.mcp_disable_stdio)
    return ToolExecutor({"local": local, "docker": docker}, MCPHub(options, settings.effective_mcp_config))


async def _remove_docker_orphans(executor: ToolExecutor) -> None:
    """Containers an earlier run of this instance left behind go at start-up, in the background (no engine is no
    error); those of other servers, and of a live server sharing this instance id, stay."""
    from toolhub.sandbox.base import SandboxError

    try:
        await executor.sandbox("docker").start()
    except SandboxError as exc:
        logger.info("docker sandbox not available: %s", exc)


async def _report_local_sandbox(executor: ToolExecutor) -> None:
    """Say at start-up, not at the first call, when the local sandbox cannot isolate tools here, and why."""
    problem = await executor.sandbox("local").check()
    if problem:
        logger.warning("local sandbox unavailable, its tool calls will fail: %s", problem)
    else:
        logger.info("local sandbox ready: tools run confined, each call as a uid of its own")


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app; the database is opened and migrated in the lifespan, not at import."""
    settings = settings or load_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        settings.home.mkdir(parents=True, exist_ok=True)
        db = Database(settings.effective_database_url)
        await upgrade_to_head(db.engine)
        app.state.db = db
        app.state.executor = _build_executor(settings)
        await app.state.executor.mcp.start(db)
        cleanup = asyncio.create_task(_remove_docker_orphans(app.state.executor))
        local_check = asyncio.create_task(_report_local_sandbox(app.state.executor))
        logger.info("ready", extra={"fields": {"database": db.engine.url.render_as_string(hide_password=True)}})
        try:
            yield
        finally:
            cleanup.cancel()
            local_check.cancel()
            await app.state.executor.close()
            await db.dispose()

    app = FastAPI(title="toolhub", version=__version__, lifespan=lifespan, redirect_slashes=False)
    app.state.settings = settings
    app.state.actors = TTLCache()
    app.state.sandbox_configs = TTLCache()
    install_error_handlers(app)

    app.include_router(health.router)
    protected = [Depends(authenticate)]
    for module in (admin, mcp, tools, sandbox_config):
        app.include_router(module.router, dependencies=protected)

    # Last added runs first: paths are canonical, then every request is logged (refusals included), then bodies
    # are size-checked and held to strict input (no NUL, strict JSON) before any endpoint reads them.
    app.add_middleware(StrictInputMiddleware)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_request_mb * 1024 * 1024)
    app.add_middleware(RequestLogMiddleware)
    app.add_middleware(CanonicalPathMiddleware)
    return app
