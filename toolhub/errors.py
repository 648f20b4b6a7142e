"""Domain errors shared by every layer; the HTTP layer maps each to one status code."""

from typing import Any


class ToolhubError(Exception):
    """A failure the client caused or can act on. `detail` is what the client sees."""

    status_code = 400

    def __init__(self, detail: Any) -> None:
        super().__init__(detail if isinstance(detail, str) else repr(detail))
        self.detail = detail


class InvalidInputError(ToolhubError):
    """The request is well-formed JSON but cannot be carried out as asked (400)."""

    status_code = 400


class UnauthorizedError(ToolhubError):
    """Missing or wrong credentials (401)."""

    status_code = 401


class ForbiddenError(ToolhubError):
    """Valid credentials that do not allow this action (403)."""

    status_code = 403


class NotFoundError(ToolhubError):
    """An id or name that does not exist for the acting user's organization (404)."""

    status_code = 404


class ConflictError(ToolhubError):
    """A unique name is already taken (409)."""

    status_code = 409


class SettingsError(Exception):
    """A setting is unknown or malformed; start-up stops and names it."""


class PayloadTooLargeError(ToolhubError):
    """A request body over the server's size limit (413)."""

    status_code = 413


class TooManyRequestsError(ToolhubError):
    """The server is busy with this caller's (or everyone's) work of this kind; retry later (429).

    `headers` carries `Retry-After` for the HTTP layer.
    """

    status_code = 429

    def __init__(self, detail: Any, *, retry_after_seconds: int) -> None:
        super().__init__(detail)
        self.retry_after_seconds = retry_after_seconds
        self.headers = {"Retry-After": str(retry_after_seconds)}
