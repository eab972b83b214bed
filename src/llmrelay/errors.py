"""Every error llmrelay raises, and the one table that turns an HTTP failure into one of them.

The tree::

    LLMRelayError                       status_code, provider, retry_after, body on every error
    ├── InvalidRequestError (ValueError)    the caller's input is wrong; raised before any I/O
    │   ├── InvalidMessagesError
    │   ├── UnsupportedParameterError
    │   ├── ModelNotFoundError              also an upstream 404 that names the model
    │   └── ProviderNotFoundError (AttributeError)
    ├── MissingRequirementsError (ImportError)  an optional extra is not installed
    ├── ProviderNotWorkingError
    ├── StreamNotSupportedError
    ├── MissingAuthError                    no key, or 401/403
    ├── PaymentRequiredError                402, or an exhausted quota
    ├── ResponseError                       the upstream answered, but not with a result
    │   ├── BadRequestError                 400/422
    │   ├── RateLimitError                  429 (retry_after when known)
    │   ├── ResponseStatusError             any other status: 404, 408, 409, 5xx, …
    │   ├── IncompleteResponseError         a stream that ended before its end marker
    │   ├── ResponseTooLargeError           a body, event or line over llmrelay's size cap
    │   └── ContentFilterError              a safety filter blocked the prompt or the answer
    ├── TimeoutError (builtins.TimeoutError)
    │   ├── ConnectTimeoutError, IdleTimeoutError, TotalTimeoutError
    ├── APIConnectionError (ConnectionError)
    │   └── ProxyError                      the proxy refused us (bad credentials, 407, …)
    ├── RetryProviderError                  every provider of a failover list failed
    │   └── RetryNoProviderError            the list was empty
    ├── NestAsyncioError, VersionNotFoundError   g4f's names; never raised here

g4f's other names are here too, for scripts that catch them: `AuthenticationRequiredError`
and `MissingAccessToken` are `MissingAuthError`; `ModelNotAllowedError` and
`ModelNotSupportedError` are `ModelNotFoundError`; `MissingAiohttpSocksError` is the
`MissingRequirementsError` for SOCKS proxies; `NoMediaResponseError` is a `ResponseError`.

`error_for_status` is the status table; `error_from_body` reads the error shapes of OpenAI,
Anthropic, Gemini and plain strings and feeds the table. `RaiseErrorMixin.raise_error` and the
HTTP transport both go through them, so one status always means one exception type.

Secrets: every message and body passes through `redact`, which masks API-key shapes and any
value the caller names, so keys never reach logs, reprs or gateway error bodies.
"""

from __future__ import annotations

import builtins
import email.utils
import math
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = [
    "APIConnectionError",
    "AuthenticationRequiredError",
    "BadRequestError",
    "ConnectTimeoutError",
    "ContentFilterError",
    "IdleTimeoutError",
    "IncompleteResponseError",
    "InvalidMessagesError",
    "InvalidRequestError",
    "LLMRelayError",
    "MissingAccessToken",
    "MissingAiohttpSocksError",
    "MissingAuthError",
    "MissingRequirementsError",
    "ModelNotAllowedError",
    "ModelNotFoundError",
    "ModelNotSupportedError",
    "NestAsyncioError",
    "NoMediaResponseError",
    "PaymentRequiredError",
    "ProviderNotFoundError",
    "ProviderNotWorkingError",
    "ProxyError",
    "RateLimitError",
    "ResponseError",
    "ResponseStatusError",
    "ResponseTooLargeError",
    "RetryNoProviderError",
    "RetryProviderError",
    "StreamNotSupportedError",
    "TimeoutError",
    "TotalTimeoutError",
    "UnsupportedParameterError",
    "VersionNotFoundError",
    "error_for_status",
    "error_from_body",
    "parse_retry_after",
    "redact",
]

#: Longest wait a server may ask for through Retry-After before we stop honouring it.
MAX_RETRY_AFTER = 60.0

_SECRET_PATTERNS = re.compile(
    r"(?P<bearer>(?i:bearer)\s+)[A-Za-z0-9._~+/=-]{8,}"
    r"|(?P<param>(?i:[?&](?:key|api_key|apikey|access_token|token)=))[^&\s\"']+"
    r"|(?P<header>(?i:(?:x-api-key|api-key|x-goog-api-key|authorization)[\"']?\s*[:=]\s*[\"']?))"
    r"[^\s\"',}]{8,}"
    r"|\bsk-[A-Za-z0-9_-]{8,}"
    r"|\bAIza[0-9A-Za-z_-]{20,}"
    r"|\bgsk_[A-Za-z0-9]{8,}"
    r"|\bhf_[A-Za-z0-9]{8,}"
    r"|\bxai-[A-Za-z0-9]{8,}"
    r"|\bya29\.[A-Za-z0-9._-]{8,}"
)


def _mask(match: re.Match[str]) -> str:
    prefix = match.group("bearer") or match.group("param") or match.group("header") or ""
    return f"{prefix}[REDACTED]"


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """Mask API keys in `text`: every known key shape, and each of `secrets` verbatim."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "[REDACTED]")
    return _SECRET_PATTERNS.sub(_mask, text)


def _redact_value(value: Any, secrets: Sequence[str | None]) -> Any:
    if isinstance(value, str):
        return redact(value, secrets)
    if isinstance(value, Mapping):
        return {k: _redact_value(v, secrets) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_value(v, secrets) for v in value]
    return value


class LLMRelayError(Exception):
    """Root of every llmrelay error; carries what is known about the failed call."""

    default_message = "LLM provider error"
    #: The HTTP status this error means when no server gave one (the caller's own mistakes).
    default_status: int | None = None

    def __init__(
        self,
        message: str | None = None,
        *,
        status_code: int | None = None,
        provider: str | None = None,
        retry_after: float | None = None,
        body: Any = None,
        secrets: Sequence[str | None] = (),
    ) -> None:
        self.message = redact(message or self.default_message, secrets)
        self._origin_status = status_code
        self.status_code = status_code if status_code is not None else self.default_status
        self.provider = provider
        self.retry_after = retry_after
        self.body = _redact_value(body, secrets)
        super().__init__(self.message)

    def __str__(self) -> str:
        # The provider leads the text once: messages that already name it are not prefixed.
        where = f"{self.provider}: " if self.provider and not self._names_provider() else ""
        status = f"[{self._origin_status}] " if self._origin_status is not None else ""
        return f"{where}{status}{self.message}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"

    @property
    def origin_status(self) -> int | None:
        """The status the error was raised with (an upstream's answer), None when only the
        class's `default_status` applies (a mistake caught before any request)."""
        return self._origin_status

    def _names_provider(self) -> bool:
        head = self.message[: len(self.provider or "") + 1]
        return bool(self.provider) and head.rstrip(" :") == self.provider


class InvalidRequestError(LLMRelayError, ValueError):
    """The request is wrong as given: nothing was sent."""

    default_message = "invalid request"
    default_status = 400


class InvalidMessagesError(InvalidRequestError):
    default_message = "invalid messages"


class UnsupportedParameterError(InvalidRequestError):
    default_message = "unsupported parameter"


class ModelNotFoundError(InvalidRequestError):
    default_message = "model not found"
    default_status = 404


class ProviderNotFoundError(InvalidRequestError, AttributeError):
    """No provider by that name (an AttributeError too, so `hasattr(Provider, name)` works)."""

    default_message = "provider not found"
    default_status = 404


class MissingRequirementsError(LLMRelayError, ImportError):
    default_message = "an optional dependency is missing"


class ProviderNotWorkingError(LLMRelayError):
    default_message = "provider is marked as not working"


class StreamNotSupportedError(LLMRelayError):
    default_message = "provider does not support streaming"


class MissingAuthError(LLMRelayError):
    default_message = "authentication required"
    default_status = 401


class PaymentRequiredError(LLMRelayError):
    default_message = "payment required"


class ResponseError(LLMRelayError):
    default_message = "the provider returned an error"


class BadRequestError(ResponseError):
    default_message = "bad request"


class RateLimitError(ResponseError):
    default_message = "rate limited"


class ResponseStatusError(ResponseError):
    default_message = "unexpected response status"


class IncompleteResponseError(ResponseError):
    default_message = "the response ended before it was complete"


class ResponseTooLargeError(ResponseError):
    """A response body, stream event or NDJSON line exceeded llmrelay's size cap (the rest
    is not read)."""

    default_message = "the response is larger than llmrelay accepts"


class ContentFilterError(ResponseError):
    """The provider's safety filter blocked the prompt, or the answer before any of it came
    (an answer cut short by a filter ends with `FinishReason("content_filter")` instead)."""

    default_message = "blocked by the provider's content filter"


class TimeoutError(
    LLMRelayError, builtins.TimeoutError
):  # g4f's name; also a builtins.TimeoutError
    default_message = "timed out"


class ConnectTimeoutError(TimeoutError):
    default_message = "timed out while connecting"


class IdleTimeoutError(TimeoutError):
    default_message = "no data received within the idle timeout"


class TotalTimeoutError(TimeoutError):
    default_message = "the request exceeded its total timeout"


class APIConnectionError(LLMRelayError, ConnectionError):
    default_message = "connection to the provider failed"


class ProxyError(APIConnectionError):
    """The proxy refused the request: wrong credentials, or it could not reach the host."""

    default_message = "the proxy refused the request"


class RetryProviderError(LLMRelayError):
    """Every provider failed; `exceptions` maps each provider's name to its error.

    `status_code` tells the caller what to do about all of them: their common status (429
    with the smallest `retry_after` when every provider was rate limited, 401 when every one
    refused the credentials, 504 when every one timed out), else 502."""

    default_message = "all providers failed"

    def __init__(
        self, message: str | None = None, exceptions: Mapping[str, BaseException] | None = None
    ) -> None:
        self.exceptions = dict(exceptions or {})
        if message is None and self.exceptions:
            message = "all providers failed:\n" + "\n".join(
                f"  {name}: {type(exc).__name__}: {exc}" for name, exc in self.exceptions.items()
            )
        status, retry_after = _common_outcome(list(self.exceptions.values()))
        super().__init__(message, retry_after=retry_after)
        self.status_code = status


def _common_outcome(errors: list[BaseException]) -> tuple[int | None, float | None]:
    """The status (and wait) that sums up several providers' failures."""
    if not errors:
        return None, None
    statuses = {getattr(e, "status_code", None) for e in errors}
    if all(isinstance(e, RateLimitError) for e in errors) or statuses == {429}:
        waits = [w for e in errors if (w := getattr(e, "retry_after", None)) is not None]
        return 429, min(waits, default=None)
    if all(isinstance(e, MissingAuthError) for e in errors) or statuses <= {401, 403}:
        return 401, None
    if all(isinstance(e, builtins.TimeoutError) for e in errors):
        return 504, None
    if len(statuses) == 1 and None not in statuses:
        return statuses.pop(), None
    return 502, None


class RetryNoProviderError(RetryProviderError):
    default_message = "no provider to try"


class MissingAiohttpSocksError(MissingRequirementsError):
    default_message = "SOCKS proxies need the 'socks' extra: pip install 'llmrelay[socks]'"


class NoMediaResponseError(ResponseError):
    default_message = "the provider returned no image or other media"


class NestAsyncioError(LLMRelayError):
    """g4f's name; never raised: sync calls work inside a running loop without nest_asyncio."""


class VersionNotFoundError(LLMRelayError):
    """g4f's name; never raised."""


AuthenticationRequiredError = MissingAuthError
MissingAccessToken = MissingAuthError
ModelNotAllowedError = ModelNotFoundError
ModelNotSupportedError = ModelNotFoundError


# ---------------------------------------------------------------------------------------------
# The status table.

_STATUS_TABLE: dict[int, type[LLMRelayError]] = {
    400: BadRequestError,
    401: MissingAuthError,
    402: PaymentRequiredError,
    403: MissingAuthError,
    407: ProxyError,
    422: BadRequestError,
    429: RateLimitError,
}

# Error "types"/"codes"/"statuses" that mean more than their HTTP status does, or that arrive
# without one (inside a 200 stream).
_TYPE_TABLE: dict[str, type[LLMRelayError]] = {
    # OpenAI
    "insufficient_quota": PaymentRequiredError,
    "model_not_found": ModelNotFoundError,
    "invalid_api_key": MissingAuthError,
    "rate_limit_exceeded": RateLimitError,
    "invalid_request_error": BadRequestError,
    # Anthropic
    "authentication_error": MissingAuthError,
    "permission_error": MissingAuthError,
    "billing_error": PaymentRequiredError,
    "rate_limit_error": RateLimitError,
    "not_found_error": ResponseStatusError,
    "overloaded_error": ResponseStatusError,
    "api_error": ResponseStatusError,
    # Gemini (google.rpc.Code names)
    "INVALID_ARGUMENT": BadRequestError,
    "FAILED_PRECONDITION": BadRequestError,
    "UNAUTHENTICATED": MissingAuthError,
    "PERMISSION_DENIED": MissingAuthError,
    "RESOURCE_EXHAUSTED": RateLimitError,
    "UNAVAILABLE": ResponseStatusError,
    "INTERNAL": ResponseStatusError,
}

# "The model `x` does not exist", "model 'x' not found", Anthropic's bare "model: x",
# Gemini's "models/x is not found for API version v1beta, …".
_MODEL_MISSING = re.compile(
    r"model\b.*\b(not found|does not exist|not exist|unknown|no such)|^model: \S+$"
    r"|\bmodels/\S+ is not found",
    re.I,
)


def error_for_status(
    status: int | None,
    message: str | None = None,
    *,
    error_type: str | None = None,
    provider: str | None = None,
    retry_after: float | None = None,
    body: Any = None,
    secrets: Sequence[str | None] = (),
) -> LLMRelayError:
    """The exception for an HTTP `status` (and the provider's own error type, when it has one)."""
    cls: type[LLMRelayError] | None = _TYPE_TABLE.get(error_type or "")
    if status is not None and status >= 500:
        cls = ResponseStatusError
    elif cls is None or (cls is BadRequestError and status not in (None, 400, 404, 422)):
        cls = _STATUS_TABLE.get(status or 0, cls)
    if (status == 404 or error_type == "not_found_error") and cls is not ModelNotFoundError:
        cls = ModelNotFoundError if _MODEL_MISSING.search(message or "") else ResponseStatusError
    if cls is None:
        cls = ResponseStatusError if status is not None and status >= 300 else ResponseError
    return cls(
        message or f"HTTP status {status}" if status is not None else message,
        status_code=status,
        provider=provider,
        retry_after=retry_after,
        body=body,
        secrets=secrets,
    )


def _first_error(data: Any) -> tuple[str | None, str | None, Any]:
    """(message, type/code/status, details) from the error shapes providers send."""
    if isinstance(data, list) and data:  # Gemini's REST errors sometimes arrive as [ {...} ]
        data = data[0]
    if isinstance(data, str):
        return data, None, None
    if not isinstance(data, Mapping):
        return (None if data is None else str(data)), None, None
    if "error_message" in data:  # g4f-style
        return str(data["error_message"]), None, None
    error = data.get("error", data)
    if isinstance(error, str):
        return error, None, None
    if not isinstance(error, Mapping):
        return (None if error in (None, True, False) else str(error)), None, None
    message = error.get("message") or error.get("detail") or error.get("msg")
    kind = error.get("type") or error.get("status") or error.get("code")
    if isinstance(error.get("code"), str) and error.get("code") in _TYPE_TABLE:
        kind = error["code"]
    if message is None and error is not data:
        message = str(dict(error))
    return (
        (None if message is None else str(message)),
        (None if kind is None else str(kind)),
        (error.get("details")),
    )


def _retry_delay_from_details(details: Any) -> float | None:
    """Gemini puts `google.rpc.RetryInfo` (`"retryDelay": "30s"`) in the error's details."""
    if not isinstance(details, list):
        return None
    for detail in details:
        if isinstance(detail, Mapping) and isinstance(detail.get("retryDelay"), str):
            return _clamp(_to_float(detail["retryDelay"].rstrip("s")))
    return None


def error_from_body(
    data: Any,
    status: int | None = None,
    *,
    provider: str | None = None,
    headers: Mapping[str, str] | None = None,
    secrets: Sequence[str | None] = (),
) -> LLMRelayError:
    """Build the exception for an error body of any supported shape and its HTTP status."""
    message, kind, details = _first_error(data)
    retry_after = parse_retry_after(headers) if headers else None
    if retry_after is None:
        retry_after = _retry_delay_from_details(details)
    return error_for_status(
        status,
        message,
        error_type=kind,
        provider=provider,
        retry_after=retry_after,
        body=data,
        secrets=secrets,
    )


# ---------------------------------------------------------------------------------------------
# Retry-After.


def _to_float(value: str) -> float | None:
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _clamp(seconds: float | None) -> float | None:
    if seconds is None or seconds < 0 or seconds > MAX_RETRY_AFTER:
        return None
    return seconds


def parse_retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds to wait as the server asks through `retry-after-ms` or `Retry-After`.

    Accepts milliseconds, seconds and HTTP-dates; garbage (`inf`, `nan`, negative, a date in
    the past, more than `MAX_RETRY_AFTER`) gives None so the caller falls back to its backoff.
    """
    lowered = {k.lower(): v for k, v in headers.items()}
    if (ms := lowered.get("retry-after-ms")) is not None:
        value = _to_float(ms.strip())
        if value is not None:
            return _clamp(value / 1000)
    raw = lowered.get("retry-after")
    if raw is None:
        return None
    raw = raw.strip()
    value = _to_float(raw)
    if value is not None:
        return _clamp(value)
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return _clamp(when.timestamp() - (time.time() if now is None else now))
