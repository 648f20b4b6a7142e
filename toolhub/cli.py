"""The `toolhub` command line."""

import asyncio
import sys
from pathlib import Path

import click

from toolhub import __version__


def _settings_or_exit():
    from toolhub.config.settings import load_settings
    from toolhub.errors import SettingsError

    try:
        return load_settings()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """toolhub: an MCP-native tool hub and sandboxed executor with a Letta-compatible REST API.

    Configuration comes from TOOLHUB_* environment variables (TOOLHUB_HOME, TOOLHUB_DATABASE_URL,
    TOOLHUB_SERVER_PASSWORD, TOOLHUB_LOG_LEVEL, TOOLHUB_SANDBOX); Letta's LETTA_SERVER_PASSWORD and
    LETTA_PG_URI are accepted too.
    """


KEEP_ALIVE_TIMEOUT_S = 75
"""Longer than the idle timeout of clients' connection pools (httpx and so letta-client 5 s, aiohttp 15 s, Node's
undici 4 s) and of common proxies (nginx upstream and AWS ALB 60 s): a server that closes an idle connection
first races a client sending its next request on it, and that request is lost (a reset or a broken pipe).
uvicorn's default, 5 s, equals httpx's. 75 s is nginx's own default towards its clients (Go's net/http reuses
connections idle up to 90 s: those can still race, between 75 and 90 s of idleness)."""
BACKLOG = 2048
"""Connections the kernel queues for accept(); it caps this at net.core.somaxconn."""
OPEN_FILES_WANTED = 65536
"""Soft RLIMIT_NOFILE asked for at start, when the hard limit allows: every connection and every sandbox
worker's pipes take descriptors, and at 1024 (a common default) accept() and pipe() start failing under load."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8283, show_default=True, type=int, help="Port (8283 is Letta's default).")
@click.option(
    "--mcp-config",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="mcp_config.json (Claude Desktop format) to load and watch; default TOOLHUB_HOME/mcp_config.json.",
)
@click.option(
    "--keep-alive-timeout",
    default=KEEP_ALIVE_TIMEOUT_S,
    show_default=True,
    type=click.IntRange(min=1),
    help="Seconds an idle keep-alive connection stays open. Keep it longer than your clients' idle-connection "
    "timeout (httpx/letta-client: 5 s) and any proxy's in front (often 60 s): when the server closes first, a "
    "request sent at that instant is lost with a connection reset.",
)
@click.option(
    "--backlog",
    default=BACKLOG,
    show_default=True,
    type=click.IntRange(min=1),
    help="Connections waiting to be accepted that the kernel queues (capped by net.core.somaxconn).",
)
def server(host: str, port: int, mcp_config: Path | None, keep_alive_timeout: int, backlog: int) -> None:
    """Start the HTTP server (migrates the database first)."""
    import uvicorn

    from toolhub.server.app import create_app
    from toolhub.server.logs import configure_logging

    settings = _settings_or_exit()
    if mcp_config is not None:
        settings = settings.model_copy(update={"mcp_config": mcp_config.expanduser().resolve()})
    configure_logging(settings.log_level)
    _raise_open_file_limit()
    _check_backlog(backlog)
    app = create_app(settings)
    uvicorn.run(
        app,
        host=host,
        port=port,
        # The protocol stack the server is tested with, whatever extras are installed: h11 on the asyncio loop
        # (uvloop or httptools would change it silently), and no WebSocket (no route uses one).
        loop="asyncio",
        http="h11",
        ws="none",
        backlog=backlog,
        timeout_keep_alive=keep_alive_timeout,
        # No limit: a 503 would be a lost call; calls queue for a sandbox worker instead.
        limit_concurrency=None,
        limit_max_requests=None,
        timeout_graceful_shutdown=10,
        log_level="warning",
        access_log=False,
    )


def _raise_open_file_limit() -> None:
    """Raise the soft limit on open files towards OPEN_FILES_WANTED, within the hard limit."""
    import logging
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = OPEN_FILES_WANTED if hard == resource.RLIM_INFINITY else min(OPEN_FILES_WANTED, hard)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
        soft = wanted
    if soft < 4096:
        logging.getLogger("toolhub.server").warning(
            "open files are limited to %d (hard limit %d): under load, connections and tool calls may fail", soft, hard
        )


def _check_backlog(backlog: int) -> None:
    import logging

    try:
        somaxconn = int(Path("/proc/sys/net/core/somaxconn").read_text())
    except (OSError, ValueError):
        return
    if somaxconn < backlog:
        logging.getLogger("toolhub.server").warning(
            "the kernel caps the listen backlog at %d (net.core.somaxconn), below the %d asked for", somaxconn, backlog
        )


@main.command("mcp-stdio")
@click.option(
    "--url",
    default="http://127.0.0.1:8283/mcp",
    show_default=True,
    envvar="TOOLHUB_MCP_URL",
    help="The toolhub MCP endpoint: /mcp for all your tools, /mcp/<profile> for a profile's.",
)
@click.option(
    "--key",
    default=None,
    envvar="TOOLHUB_API_KEY",
    help="Your API key (or the server password), sent as a Bearer token; prefer the TOOLHUB_API_KEY variable, "
    "which other users of this machine cannot read in the process list. Not needed when the server has no password.",
)
def mcp_stdio(url: str, key: str | None) -> None:
    """Serve a running toolhub's MCP endpoint on stdin/stdout, for MCP clients that start servers as processes.

    Claude Desktop: {"mcpServers": {"toolhub": {"command": "toolhub", "args": ["mcp-stdio"],
    "env": {"TOOLHUB_API_KEY": "thk_..."}}}}
    """
    import anyio

    from toolhub.server.logs import configure_logging
    from toolhub.server.mcp_endpoint.stdio_bridge import run_bridge

    configure_logging("warning")  # to stderr: stdout carries the protocol
    try:
        anyio.run(run_bridge, url, key)
    except KeyboardInterrupt:
        pass
    except Exception as exc:  # desktop clients show the server's stderr in their logs
        while isinstance(exc, ExceptionGroup) and len(exc.exceptions) == 1:
            exc = exc.exceptions[0]
        raise click.ClickException(f"cannot serve {url}: {type(exc).__name__}: {exc}") from None


@main.group()
def db() -> None:
    """Database maintenance."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply all pending schema migrations and exit."""
    from toolhub.store.db import Database
    from toolhub.store.migrate import upgrade_to_head

    settings = _settings_or_exit()

    async def run() -> None:
        database = Database(settings.effective_database_url)
        try:
            await upgrade_to_head(database.engine)
        finally:
            await database.dispose()

    asyncio.run(run())
    click.echo("database is up to date")


@main.group()
def sandbox() -> None:
    """Sandbox maintenance."""


@sandbox.command("build-image")
def sandbox_build_image() -> None:
    """Build (or find, by content hash) the Docker image custom tools run in.

    With no image registry reachable, the base comes from a debootstrap root filesystem (about a minute the
    first time); later runs reuse the image until the runner code changes. The server also builds it lazily.
    """
    import logging

    from toolhub.sandbox.base import SandboxError
    from toolhub.sandbox.docker.sandbox import build_image
    from toolhub.server.logs import configure_logging

    settings = _settings_or_exit()
    configure_logging(settings.log_level)
    logging.getLogger("toolhub.sandbox").setLevel(logging.INFO)
    try:
        tag = build_image(settings.home / "docker")
    except SandboxError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(tag)


@main.command()
def version() -> None:
    """Print the toolhub version."""
    click.echo(__version__)


if __name__ == "__main__":
    sys.exit(main())
