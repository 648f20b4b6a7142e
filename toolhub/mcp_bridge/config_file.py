"""Read `mcp_config.json` in Claude Desktop's format, `{"mcpServers": {name: entry}}`.

Each entry is checked on its own: a broken one is reported by name and the rest still load. Entries are
stdio (`command`, `args`, `env`, `cwd`) or remote (`url`, `headers`, `type`/`transport` = `sse` |
`streamable_http` | `http`); `disabled: true` (or `enabled: false`) skips one; `${NAME}` in any string value
is replaced by that environment variable, and a missing variable breaks the entry. Unknown keys break the
entry too, rather than being silently ignored. A remote entry without a type is SSE when its path ends in
`/sse` and Streamable HTTP otherwise.
"""

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from toolhub.mcp_bridge.config import MCPServerConfig, parse_server_config
from toolhub.mcp_bridge.errors import MCPConfigError

_ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_COMMON_KEYS = {"type", "transport", "disabled", "enabled"}
_STDIO_KEYS = _COMMON_KEYS | {"command", "args", "env", "cwd"}
_REMOTE_KEYS = _COMMON_KEYS | {"url", "headers", "auth_header", "auth_token"}
_REMOTE_TYPES = {
    "sse": "sse",
    "streamable_http": "streamable_http",
    "streamable-http": "streamable_http",
    "http": "streamable_http",
}


@dataclass(frozen=True)
class ParsedConfigFile:
    """The servers that loaded, and `(server name, message)` for each entry that did not."""

    servers: dict[str, MCPServerConfig] = field(default_factory=dict)
    errors: list[tuple[str, str]] = field(default_factory=list)


def load_mcp_config(path: Path, *, environ: Mapping[str, str] | None = None) -> ParsedConfigFile:
    """Read and parse a config file.

    Raises:
        MCPConfigError: the file cannot be read or is not a config file at all.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise MCPConfigError(f"Cannot read {path}: {exc}") from None
    return parse_mcp_config(text, environ=environ)


def parse_mcp_config(text: str, *, environ: Mapping[str, str] | None = None) -> ParsedConfigFile:
    """Parse a config file's text; `environ` (default: the process environment) resolves `${NAME}`.

    Raises:
        MCPConfigError: invalid JSON, or no `mcpServers` object.
    """
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise MCPConfigError(f"mcp_config.json is not valid JSON: {exc}") from None
    if not isinstance(document, dict) or set(document) - {"mcpServers"}:
        raise MCPConfigError('mcp_config.json must be an object of the form {"mcpServers": {name: {...}}}')
    entries = document.get("mcpServers", {})
    if not isinstance(entries, dict):
        raise MCPConfigError('"mcpServers" must be an object mapping server names to entries')
    result = ParsedConfigFile()
    for name, entry in entries.items():
        try:
            wire = _entry_to_wire(name, entry, os.environ if environ is None else environ)
            if wire is not None:
                result.servers[name] = parse_server_config(wire)
        except (ValueError, MCPConfigError) as exc:
            result.errors.append((name, str(exc)))
    return result


def _entry_to_wire(name: str, entry: Any, environ: Mapping[str, str]) -> dict[str, Any] | None:
    """Turn one entry into a Letta wire body, or None when it is disabled; ValueError says what is wrong."""
    if not isinstance(entry, dict):
        raise ValueError("entry must be an object")
    if entry.get("disabled") is True or entry.get("enabled") is False:
        return None
    entry = _expand(entry, environ)
    kind = entry.get("type", entry.get("transport"))
    if "command" in entry:
        _check_keys(entry, _STDIO_KEYS)
        if kind not in (None, "stdio"):
            raise ValueError(f"an entry with 'command' is a stdio server, not {kind!r}")
        return {
            "server_name": name,
            "type": "stdio",
            **{k: entry[k] for k in ("command", "args", "env", "cwd") if k in entry},
        }
    if "url" in entry:
        _check_keys(entry, _REMOTE_KEYS)
        if kind is None:
            kind = "sse" if urlsplit(str(entry["url"])).path.rstrip("/").endswith("/sse") else "streamable_http"
        if kind not in _REMOTE_TYPES:
            raise ValueError(f"unknown transport {kind!r} (expected one of: {', '.join(_REMOTE_TYPES)})")
        return {
            "server_name": name,
            "type": _REMOTE_TYPES[kind],
            "server_url": entry["url"],
            "custom_headers": entry.get("headers"),
            "auth_header": entry.get("auth_header"),
            "auth_token": entry.get("auth_token"),
        }
    raise ValueError("entry needs either 'command' (stdio) or 'url' (remote)")


def _check_keys(entry: dict[str, Any], allowed: set[str]) -> None:
    if unknown := sorted(set(entry) - allowed):
        raise ValueError(f"unknown key(s): {', '.join(unknown)}")


def _expand(value: Any, environ: Mapping[str, str]) -> Any:
    """Replace `${NAME}` in every string of a JSON value."""
    if isinstance(value, str):

        def lookup(match: re.Match[str]) -> str:
            if match.group(1) not in environ:
                raise ValueError(f"environment variable {match.group(1)} is not set")
            return environ[match.group(1)]

        return _ENV_REFERENCE.sub(lookup, value)
    if isinstance(value, list):
        return [_expand(item, environ) for item in value]
    if isinstance(value, dict):
        return {key: _expand(item, environ) for key, item in value.items()}
    return value
