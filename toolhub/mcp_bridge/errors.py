"""Errors the bridge raises to its callers, each rooted in a `toolhub.errors` class for its HTTP status.

The detail is Letta's body shape, `{"code", "message", ...context}`, so a route can return it unchanged; the
class attribute `code` (the response's top-level `code`) comes from the `toolhub.errors` class each is rooted in,
except for the connection errors, which have their own:

    ToolhubError
     ├─ InvalidInputError (400) ─ MCPConfigError ─ MCPPolicyError
     │                          └ MCPSchemaError
     ├─ NotFoundError (404) ──── MCPServerNotFoundError
     ├─ ConflictError (409) ──── MCPServerNameAlreadyExistsError
     └─ MCPServerConnectionError (400) ─ MCPTimeoutError (408)
                                       └ MCPServerUnavailableError (503)
"""

from toolhub.errors import ConflictError, InvalidInputError, NotFoundError, ToolhubError


class MCPBridgeError(ToolhubError):
    """Base of the bridge's errors; `str(err)` is the message, `err.detail` the Letta-shaped body."""

    def __init__(self, message: str, **context: str) -> None:
        super().__init__({"code": type(self).__name__, "message": message, **context})
        self.message = message

    def __str__(self) -> str:
        return self.message


class MCPConfigError(MCPBridgeError, InvalidInputError):
    """A server config or an `mcp_config.json` file that cannot be used as written."""


class MCPPolicyError(MCPConfigError):
    """A config refused by policy: stdio while stdio is disabled, or a link-local / metadata address."""


class MCPSchemaError(MCPBridgeError, InvalidInputError):
    """A tool's input schema that cannot be turned into a model-provider schema."""


class MCPServerNotFoundError(MCPBridgeError, NotFoundError):
    """No server of that name is configured."""


class MCPServerNameAlreadyExistsError(MCPBridgeError, ConflictError):
    """A server of that name is already configured."""


class MCPServerConnectionError(MCPBridgeError):
    """Connecting to a server, or listing its tools, failed."""

    status_code = 400
    code = "mcp_connection_failed"


class MCPTimeoutError(MCPServerConnectionError):
    """The server did not answer within the configured timeout."""

    status_code = 408
    code = "mcp_timeout"
    retryable = True


class MCPServerUnavailableError(MCPServerConnectionError):
    """The server is configured but has no live session and no tool list to serve."""

    status_code = 503
    code = "mcp_server_unavailable"
    retryable = True
