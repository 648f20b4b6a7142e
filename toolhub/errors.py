"""Domain errors shared by every layer; the HTTP layer maps each to one status code and one body shape.

Every error carries a stable `code` (what a client may branch on) and `retryable` (whether the same request may
succeed later). Two families hang off the root:

    ToolhubError
     ├─ InvalidInputError (400, invalid_input), UnauthorizedError (401), ForbiddenError (403),
     │  NotFoundError (404), ConflictError (409), PayloadTooLargeError (413), TooManyRequestsError (429, retryable)
     └─ ToolInfrastructureError (503): the machinery a tool call needs failed, not the tool
         ├─ SandboxUnavailableError     engine down, pool exhausted, worker died, cannot confine here
         ├─ ToolServerUnreachableError  an MCP server the tool lives on does not answer
         └─ ToolServerNotFoundError     the MCP server a tool was registered from is no longer configured

What a *tool* did (returned, raised, timed out, hit a limit) is never one of these: it is a result the model
reads (see `toolhub.tools.executor`).
"""

from typing import Any


class ToolhubError(Exception):
    """A failure the client caused or can act on. `detail` is what the client sees."""

    status_code: int = 400
    code: str = "invalid_input"
    retryable: bool = False
    retry_after_seconds: int | None = None
    """Sent as `Retry-After` when known."""

    def __init__(self, detail: Any) -> None:
        super().__init__(detail if isinstance(detail, str) else repr(detail))
        self.detail = detail

    @property
    def headers(self) -> dict[str, str]:
        """Response headers this error asks for (`Retry-After`); the HTTP layer adds its own."""
        return {} if self.retry_after_seconds is None else {"Retry-After": str(self.retry_after_seconds)}


class InvalidInputError(ToolhubError):
    """The request is well-formed JSON but cannot be carried out as asked (400)."""

    status_code = 400
    code = "invalid_input"


class UnauthorizedError(ToolhubError):
    """Missing or wrong credentials (401)."""

    status_code = 401
    code = "unauthorized"


class ForbiddenError(ToolhubError):
    """Valid credentials that do not allow this action (403)."""

    status_code = 403
    code = "forbidden"


class NotFoundError(ToolhubError):
    """An id or name that does not exist for the acting user's organization (404)."""

    status_code = 404
    code = "not_found"


class ConflictError(ToolhubError):
    """A unique name is already taken (409)."""

    status_code = 409
    code = "conflict"


class InternalError(ToolhubError):
    """Something failed inside the server that the client could not have caused (500); logged with its trace."""

    status_code = 500
    code = "internal_error"


class SettingsError(Exception):
    """A setting is unknown or malformed; start-up stops and names it."""


class PayloadTooLargeError(ToolhubError):
    """A request body over the server's size limit (413)."""

    status_code = 413
    code = "payload_too_large"


class TooManyRequestsError(ToolhubError):
    """The server is busy with this caller's (or everyone's) work of this kind; retry later (429)."""

    status_code = 429
    code = "too_many_requests"
    retryable = True

    def __init__(self, detail: Any, *, retry_after_seconds: int) -> None:
        super().__init__(detail)
        self.retry_after_seconds = retry_after_seconds


class ToolInfrastructureError(ToolhubError):
    """The machinery a tool call needs failed (503); the tool itself may never have run.

    Args:
        detail: What failed, for the client and the logs (never a secret).
        op: What was being done, e.g. "sandbox.run" or "mcp.call".
        retryable: Whether the same call may succeed later; the class default when None.
        retry_after_seconds: Sent as `Retry-After` when known.
    """

    status_code = 503
    code = "tool_infrastructure"
    retryable = True

    def __init__(
        self, detail: Any, *, op: str, retryable: bool | None = None, retry_after_seconds: int | None = None
    ) -> None:
        super().__init__(detail)
        self.op = op
        if retryable is not None:
            self.retryable = retryable
        self.retry_after_seconds = retry_after_seconds


class SandboxUnavailableError(ToolInfrastructureError):
    """The sandbox could not run the call: its engine is down, its pool exhausted, its worker died or could not
    start, or it cannot confine tools on this machine."""

    code = "sandbox_unavailable"


class ToolServerUnreachableError(ToolInfrastructureError):
    """The MCP server the tool lives on is configured but does not answer."""

    code = "tool_server_unreachable"


class ToolServerNotFoundError(ToolInfrastructureError):
    """The MCP server a tool was registered from is no longer configured; retrying will not help until it is
    added again."""

    code = "tool_server_not_found"
    retryable = False
