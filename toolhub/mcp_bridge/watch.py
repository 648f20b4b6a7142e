"""Keep the manager in step with `mcp_config.json`: poll its stat about once a second and apply the diff.

Only the servers that came from the file are touched. An unchanged entry keeps its session (the manager's
`update` is a no-op for an identical config); a broken entry keeps whatever session it had, and a broken
file changes nothing. Every problem is logged with the server's name.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

import anyio

from toolhub.mcp_bridge.config_file import ParsedConfigFile, load_mcp_config
from toolhub.mcp_bridge.errors import MCPBridgeError, MCPServerNotFoundError
from toolhub.mcp_bridge.manager import MCPManager

logger = logging.getLogger(__name__)

_Signature = tuple[int, int, int] | None


class ConfigWatcher:
    """`async with ConfigWatcher(manager, path):` applies the file at once, then on every change until exit."""

    def __init__(
        self, manager: MCPManager, path: Path, *, interval: float = 1.0, environ: Mapping[str, str] | None = None
    ) -> None:
        self._manager = manager
        self._path = path
        self._interval = interval
        self._environ = environ
        self._owned: set[str] = set()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> ConfigWatcher:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    async def start(self) -> None:
        """Apply the file now, then keep polling in the background."""
        signature = self._signature()
        await self.sync()
        self._task = asyncio.create_task(self._poll(signature), name="mcp-config-watcher")

    async def stop(self) -> None:
        """Stop polling; the servers stay configured (closing the manager stops them)."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.wait([self._task])

    async def sync(self) -> list[tuple[str, str]]:
        """Read the file and apply it now; returns `(name, message)` for every entry (or the file) not applied."""
        try:
            parsed = load_mcp_config(self._path, environ=self._environ) if self._path.exists() else ParsedConfigFile()
        except MCPBridgeError as exc:
            logger.error("MCP config %s not applied, servers left as they were: %s", self._path, exc)
            return [(str(self._path), str(exc))]
        errors = list(parsed.errors)
        for name, config in parsed.servers.items():
            try:
                if name in self._owned and name in self._manager.configs():
                    await self._manager.update(config)
                elif name in self._manager.configs():
                    errors.append((name, "a server of this name is already configured outside the config file"))
                else:
                    await self._manager.add(config)
                    self._owned.add(name)
            except MCPBridgeError as exc:
                errors.append((name, str(exc)))
        broken = {name for name, _ in errors}
        for name in sorted(self._owned - parsed.servers.keys() - broken):
            self._owned.discard(name)
            with contextlib.suppress(MCPServerNotFoundError):  # already removed through the API
                await self._manager.remove(name)
        for name, message in errors:
            logger.error("MCP server %r in %s not applied: %s", name, self._path, message)
        return errors

    async def _poll(self, signature: _Signature) -> None:
        while True:
            await anyio.sleep(self._interval)
            current = self._signature()
            if current != signature:
                signature = current
                await self.sync()

    def _signature(self) -> _Signature:
        try:
            stat = os.stat(self._path)
        except OSError:
            return None
        return (stat.st_mtime_ns, stat.st_size, stat.st_ino)
