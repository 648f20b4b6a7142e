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


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8283, show_default=True, type=int, help="Port (8283 is Letta's default).")
@click.option(
    "--mcp-config",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="mcp_config.json (Claude Desktop format) to load and watch; default TOOLHUB_HOME/mcp_config.json.",
)
def server(host: str, port: int, mcp_config: Path | None) -> None:
    """Start the HTTP server (migrates the database first)."""
    import uvicorn

    from toolhub.server.app import create_app
    from toolhub.server.logs import configure_logging

    settings = _settings_or_exit()
    if mcp_config is not None:
        settings = settings.model_copy(update={"mcp_config": mcp_config.expanduser().resolve()})
    configure_logging(settings.log_level)
    app = create_app(settings)
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False, timeout_graceful_shutdown=10)


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
    from toolhub.sandbox.docker import build_image
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
