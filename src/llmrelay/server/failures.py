"""Errors into HTTP answers: one table from llmrelay's errors to a status, an error type and a
message that is safe to show (keys redacted, never a traceback).

Upstream errors keep their status class: 429 stays 429 (with `Retry-After`), an upstream
4xx stays a 4xx, an upstream 5xx or connection failure is 502 (503/504 kept), a timeout 504.
The caller's own mistakes are 400 naming the field; unknown models and providers 404.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

from ..errors import (
    APIConnectionError,
    ContentFilterError,
    InvalidRequestError,
    LLMRelayError,
    MissingAuthError,
    MissingRequirementsError,
    ModelNotFoundError,
    PaymentRequiredError,
    ProviderNotFoundError,
    RateLimitError,
    RetryProviderError,
    TimeoutError,
    redact,
)
from ..protocols.fields import FieldError

__all__ = ["Failure", "failure_for"]

log = logging.getLogger("llmrelay.server")


@dataclass(frozen=True, slots=True)
class Failure:
    """What the gateway answers for an error."""

    status: int
    kind: str  # OpenAI's error type; Anthropic's is derived from the status
    message: str
    param: str | None = None
    retry_after: float | None = None
    code: str | None = None  # OpenAI's error code, where it has one

    @property
    def anthropic_kind(self) -> str:
        return _ANTHROPIC_KINDS.get(self.status, "api_error")

    def headers(self) -> list[tuple[bytes, bytes]]:
        if self.retry_after is None:
            return []
        return [(b"retry-after", str(max(1, math.ceil(self.retry_after))).encode())]


_ANTHROPIC_KINDS = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    503: "overloaded_error",
    504: "timeout_error",
}


def _upstream_status(status: int | None, default: int) -> int:
    if status is None:
        return default
    if status in (503, 504) or 400 <= status < 500:
        return status
    return 502


def _of_all(error: RetryProviderError, secrets: tuple[str, ...]) -> Failure:
    """Every provider of a failover list failed: one status if they agree, else 502."""
    failures = [failure_for(exc, secrets) for exc in error.exceptions.values()]
    if not failures:
        return Failure(503, "server_error", "no provider is available for this request")
    statuses = {f.status for f in failures}
    status = statuses.pop() if len(statuses) == 1 else 502
    waits = [f.retry_after for f in failures if f.retry_after is not None]
    message = redact(str(error), secrets)
    kind = failures[0].kind if status == failures[0].status else "server_error"
    return Failure(status, kind, message, retry_after=min(waits) if waits else None)


def failure_for(error: BaseException, secrets: tuple[str, ...] = ()) -> Failure:
    """The HTTP answer for `error` (anything not an LLMRelayError is logged, shown as 500)."""
    if isinstance(error, RetryProviderError):
        return _of_all(error, secrets)
    if not isinstance(error, LLMRelayError):
        log.error("unexpected error while serving a request", exc_info=error)
        return Failure(500, "server_error", "internal error (see the gateway's log)")
    where = f"{error.provider}: " if error.provider else ""
    message = redact(where + error.message, secrets)
    status = error.status_code
    if isinstance(error, FieldError):
        return Failure(error.status_code or 400, "invalid_request_error", message, error.param)
    if isinstance(error, ModelNotFoundError | ProviderNotFoundError):
        param = "provider" if isinstance(error, ProviderNotFoundError) else "model"
        if isinstance(error, ProviderNotFoundError) and "no configured provider" in message:
            return Failure(503, "server_error", message, param)
        return Failure(404, "not_found_error", message, param)
    if isinstance(error, RateLimitError):
        return Failure(429, "rate_limit_error", message, retry_after=error.retry_after)
    if isinstance(error, ContentFilterError):
        return Failure(400, "content_filter", message)
    if isinstance(error, InvalidRequestError):
        return Failure(
            status if status and 400 <= status < 500 else 400, "invalid_request_error", message
        )
    if isinstance(error, PaymentRequiredError):
        return Failure(402, "insufficient_quota", message)
    if isinstance(error, MissingAuthError):
        # No key configured on the gateway (no status) is the gateway's problem, not the
        # caller's; an upstream 401/403 keeps its status.
        status = error.origin_status
        return Failure(_upstream_status(status, 503), "upstream_authentication_error", message)
    if isinstance(error, TimeoutError):
        return Failure(504, "timeout", message)
    if isinstance(error, APIConnectionError):
        return Failure(502, "upstream_connection_error", message)
    if isinstance(error, MissingRequirementsError):
        return Failure(503, "server_error", message)
    result = _upstream_status(status, 502)
    kind = "invalid_request_error" if result < 500 else "upstream_error"
    return Failure(result, kind, message, retry_after=error.retry_after)
