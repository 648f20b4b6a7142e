"""MCP server configs in Letta's wire shapes, one model per transport, told apart by `type`.

The models are frozen, so `old == new` decides whether an update must restart a session. Validation refuses
URLs aimed at link-local or metadata addresses as written; the manager checks resolved addresses again at connect.
"""

import os
import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, TypeAdapter, ValidationError, field_validator

from toolhub.mcp_bridge.errors import MCPConfigError
from toolhub.mcp_bridge.netguard import url_refusal

MASK = "****"
ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
"""`${NAME}` in a header value or token is the hub's environment variable NAME, read at connect time, so the
secret itself need not be stored."""


class _ServerConfig(BaseModel):
    model_config = ConfigDict(frozen=True)

    server_name: str = Field(min_length=1, max_length=100)

    @field_validator("server_name")
    @classmethod
    def _printable_name(cls, value: str) -> str:
        # The name ends up in URL paths (`/mcp/servers/{name}`) and in tool tags (`mcp:<name>`).
        if value != value.strip() or "/" in value or not value.isprintable():
            raise ValueError("must be printable, without '/' or surrounding spaces")
        return value


class StdioServerConfig(_ServerConfig):
    """A server the bridge spawns and talks to over stdin/stdout."""

    type: Literal["stdio"] = "stdio"
    command: str = Field(min_length=1)
    args: list[str] = Field(default_factory=list)
    env: dict[str, str] | None = None
    """The server's whole environment, apart from PATH; the hub's own environment is not passed on."""
    cwd: str | None = None

    @field_validator("env")
    @classmethod
    def _env_names(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        for name, setting in (value or {}).items():
            if not name or "=" in name or "\0" in name or "\0" in setting:
                raise ValueError(f"invalid environment variable {name!r}")
        return value


class _RemoteServerConfig(_ServerConfig):
    server_url: str
    auth_header: str | None = None
    auth_token: str | None = None
    custom_headers: dict[str, str] | None = None

    @field_validator("server_url")
    @classmethod
    def _allowed_url(cls, value: str) -> str:
        if reason := url_refusal(value):
            raise ValueError(f"refused: {reason}")
        return value

    def headers(self, environ: Mapping[str, str] | None = None, *, strict: bool = True) -> dict[str, str]:
        """HTTP headers to send: custom headers, then the auth header (`Bearer` added to a bare token), with
        `${NAME}` references resolved from `environ` (default: the process environment).

        Raises:
            MCPConfigError: (when `strict`) a referenced variable is not set; the message names it, not values.
        """
        env = os.environ if environ is None else environ
        headers = {key: _resolve(value, env, key, strict) for key, value in (self.custom_headers or {}).items()}
        if self.auth_token:
            name = self.auth_header or "Authorization"
            token = _resolve(self.auth_token, env, name, strict)
            if name.lower() == "authorization" and " " not in token.strip():
                token = f"Bearer {token.strip()}"
            headers[name] = token
        return headers


class SSEServerConfig(_RemoteServerConfig):
    """A remote server on the (deprecated, still common) HTTP+SSE transport."""

    type: Literal["sse"] = "sse"


class StreamableHTTPServerConfig(_RemoteServerConfig):
    """A remote server on the Streamable HTTP transport."""

    type: Literal["streamable_http"] = "streamable_http"


def _resolve(value: str, environ: Mapping[str, str], header: str, strict: bool) -> str:
    """`value` with `${NAME}` replaced; a missing variable raises when `strict`, and stays as written otherwise."""

    def lookup(match: re.Match[str]) -> str:
        if match.group(1) in environ:
            return environ[match.group(1)]
        if strict:
            raise MCPConfigError(f"environment variable {match.group(1)} (header {header}) is not set")
        return match.group(0)

    return ENV_REFERENCE.sub(lookup, value)


def _server_type(value: Any) -> str | None:
    """The `type` tag; Letta's clients omit it for stdio bodies (and it used to mean SSE for URL bodies)."""
    if isinstance(value, dict):
        if "type" in value:
            return value["type"]
        return "stdio" if "command" in value else "sse" if "server_url" in value else None
    return getattr(value, "type", None)


MCPServerConfig = Annotated[
    Annotated[StdioServerConfig, Tag("stdio")]
    | Annotated[SSEServerConfig, Tag("sse")]
    | Annotated[StreamableHTTPServerConfig, Tag("streamable_http")],
    Discriminator(_server_type),
]
"""Any server config; usable as a FastAPI body type."""

_server_config_adapter: TypeAdapter[MCPServerConfig] = TypeAdapter(MCPServerConfig)


def _describe_validation_error(exc: ValidationError) -> str:
    """One line naming each bad field, without echoing input values (they may hold secrets)."""
    parts = []
    for error in exc.errors(include_url=False, include_input=False):
        location = ".".join(str(part) for part in error["loc"] if part not in ("stdio", "sse", "streamable_http"))
        parts.append(f"{location}: {error['msg']}" if location else error["msg"])
    return "; ".join(parts)


def parse_server_config(data: Any) -> MCPServerConfig:
    """Validate one server config body.

    Raises:
        MCPConfigError: the body is not a valid config; the message names every bad field.
    """
    try:
        return _server_config_adapter.validate_python(data)
    except ValidationError as exc:
        raise MCPConfigError(f"Invalid MCP server config: {_describe_validation_error(exc)}") from None


def masked_config(config: MCPServerConfig) -> dict[str, Any]:
    """The config as Letta's wire shape, with secret values replaced by `****` and their keys kept."""
    data = config.model_dump(mode="json")
    if isinstance(config, StdioServerConfig):
        if config.cwd is None:
            del data["cwd"]
        if config.env is not None:
            data["env"] = dict.fromkeys(config.env, MASK)
        return data
    data["server_url"] = _masked_url(config.server_url)
    if config.auth_token is not None:
        data["auth_token"] = MASK
    if config.custom_headers is not None:
        data["custom_headers"] = dict.fromkeys(config.custom_headers, MASK)
    return data


def redact(text: str, config: MCPServerConfig) -> str:
    """`text` with the config's secret values (env, token, header and URL query values) replaced by `****`.

    For error messages that quote the server or the transport; values under 6 characters are left alone,
    since they are rarely secrets and would garble the text.
    """
    if isinstance(config, StdioServerConfig):
        secrets = list((config.env or {}).values())
    else:
        parts = urlsplit(config.server_url)
        headers = config.headers(strict=False)
        secrets = [*headers.values(), *(value for _, value in parse_qsl(parts.query)), parts.password or ""]
        secrets += [value.partition(" ")[2] for value in headers.values()]
    for secret in sorted({s for s in secrets if len(s) >= 6}, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


def _masked_url(url: str) -> str:
    """Hide a password in the userinfo and every query value; URLs often carry API keys there."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if parts.password is not None:
        netloc = f"{parts.username}:{MASK}@{netloc.rpartition('@')[2]}"
    query = urlencode([(key, MASK) for key, _ in parse_qsl(parts.query, keep_blank_values=True)], safe="*")
    return urlunsplit(parts._replace(netloc=netloc, query=query))
