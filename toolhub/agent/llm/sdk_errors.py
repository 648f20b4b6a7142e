"""Translate a provider SDK's exceptions into `LLMError`s at the adapter's edge.

The `openai` and `anthropic` SDKs share one exception tree (both are Stainless-generated), so one translation
serves both: the adapter passes its SDK module. Messages say which provider failed and how, and never carry the
API key (a provider may echo it back in its error text).
"""

from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType
from urllib.parse import urlsplit, urlunsplit

from toolhub.agent.llm.base import (
    LLMAuthenticationError,
    LLMBadResponseError,
    LLMError,
    LLMRateLimitError,
    LLMUnreachableError,
)

_OVERLOADED = 529
"""Anthropic's "overloaded": like a rate limit, the same request may work in a moment."""


def safe_endpoint(url: str) -> str:
    """`url` without credentials in its authority, fit for messages and logs."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


@contextmanager
def translated_errors(sdk: ModuleType, *, provider: str, endpoint: str, secret: str) -> Iterator[None]:
    """Re-raise `sdk`'s errors raised inside the block as `LLMError`s naming `provider` at `endpoint`."""
    try:
        yield
    except sdk.APIError as exc:
        raise translate(sdk, exc, provider=provider, endpoint=endpoint, secret=secret) from exc


def translate(sdk: ModuleType, exc: Exception, *, provider: str, endpoint: str, secret: str) -> LLMError:
    where = f"{provider} at {safe_endpoint(endpoint)}"
    detail = _redacted(_message(exc), secret)
    if isinstance(exc, (sdk.AuthenticationError, sdk.PermissionDeniedError)):
        return LLMAuthenticationError(f"{where} refused the API key ({exc.status_code}): {detail}")
    if isinstance(exc, sdk.APITimeoutError):
        return LLMUnreachableError(f"{where} did not answer in time")
    if isinstance(exc, sdk.APIConnectionError):
        return LLMUnreachableError(f"cannot reach {where}: {_redacted(_cause(exc), secret)}")
    if isinstance(exc, sdk.RateLimitError) or getattr(exc, "status_code", None) == _OVERLOADED:
        limited = LLMRateLimitError(f"{where} is rate-limiting or overloaded ({exc.status_code}): {detail}")
        limited.retry_after_seconds = _retry_after(exc)
        return limited
    if isinstance(exc, sdk.APIStatusError):
        failed = LLMBadResponseError(f"{where} answered {exc.status_code}: {detail}")
        failed.retryable = exc.status_code >= 500
        return failed
    return LLMBadResponseError(f"{where} sent an answer that is not a completion: {detail}")


def _message(exc: Exception) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return error["message"]
    return str(getattr(exc, "message", None) or exc)


def _cause(exc: Exception) -> str:
    cause = exc.__cause__ or exc.__context__
    return f"{type(cause).__name__}: {cause}" if cause else str(exc)


def _redacted(text: str, secret: str) -> str:
    return text.replace(secret, "***") if secret else text


def _retry_after(exc: Exception) -> int | None:
    response = getattr(exc, "response", None)
    value = response.headers.get("retry-after") if response is not None else None
    try:
        return max(0, int(float(value))) if value else None
    except ValueError:
        return None
