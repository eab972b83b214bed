"""HTTP requests for providers: timeouts, retries, proxies and error mapping in one place.

    async with open_response("POST", url, request=req) as response:
        async for event in iter_sse(response, req): ...

`open_response` connects, retries what is safe to retry, maps failures to llmrelay errors and
yields a 2xx response; once it has yielded, nothing is retried (the caller may already have
passed data on). The body helpers (`read_json`, `iter_sse`, `iter_ndjson`) map read failures
and cut streams to errors too.

Timeouts (`Timeouts`): `connect` bounds establishing the connection, `idle` the longest
silence between bytes (headers included), `total` the whole call, retries and body included.
Each raises its own `TimeoutError` subclass naming the provider.

Retries (`max_retries`, default 2): on 408, 409, 429 and 5xx and on connection failures,
before the response is handed over, with exponential backoff and jitter, or after the
`Retry-After`/`retry-after-ms` the server asked for (up to `errors.MAX_RETRY_AFTER`), and never
past the total deadline. A connection the server closes before sending any byte (a stale
keep-alive connection) is a connection failure, retried; one closed after is not.

Redirects: followed only within the same origin (scheme, host and port), at most
`MAX_REDIRECTS` per attempt. A redirect to another origin is refused with a
`ResponseStatusError` naming that origin (never its path or query): every request carries the
provider's credentials in its headers (`Authorization`, `x-api-key`, `x-goog-api-key`,
`api-key`, …), and none of them may reach a host the caller did not name.

Logging: debug lines under the `llmrelay.transport` logger (llmrelay installs no handler) for
each response (status and the upstream's `x-request-id`/`request-id`) and each retry decision
(reason, status, wait); never a URL query, header value or key.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import random
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import (
    InvalidRequestError,
    LLMRelayError,
    ResponseStatusError,
    TotalTimeoutError,
    error_from_body,
    redact,
)
from ..jsonio import dumps
from .body import MAX_BODY_BYTES, MAX_EVENT_BYTES, event_json, iter_ndjson, iter_sse, read_json
from .exchange import Response, exchange, split_url
from .failures import cause, map_exception, retryable
from .pool import proxy_password, validate_proxy
from .timeouts import DEFAULT_TIMEOUTS, Timeouts

__all__ = [
    "MAX_BODY_BYTES",
    "MAX_EVENT_BYTES",
    "Request",
    "Response",
    "Timeouts",
    "check_max_retries",
    "event_json",
    "iter_ndjson",
    "iter_sse",
    "open_response",
    "read_json",
]

USER_AGENT = "llmrelay/0.1"
DEFAULT_MAX_RETRIES = 2
INITIAL_RETRY_DELAY = 0.5
MAX_RETRY_DELAY = 8.0
#: Error bodies are read up to this size; the rest is dropped.
MAX_ERROR_BODY = 1 << 20
#: Same-origin redirects followed within one attempt.
MAX_REDIRECTS = 5
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
log = logging.getLogger("llmrelay.transport")


@dataclass(frozen=True, slots=True, repr=False)
class Request:
    """What every call needs besides method and URL. Its repr shows header names, never
    their values, nor the body, the proxy's password or the secrets."""

    provider: str
    headers: Mapping[str, str] = field(default_factory=dict)
    json: Any = None
    #: A form, sent url-encoded instead of `json` (OAuth token endpoints take only forms).
    form: Mapping[str, str] | None = None
    proxy: str | None = None
    timeouts: Timeouts = DEFAULT_TIMEOUTS
    max_retries: int = DEFAULT_MAX_RETRIES
    #: Values to mask in any error text (the API key).
    secrets: Sequence[str | None] = ()
    #: Raw bytes sent as they are (a multipart upload); give their Content-Type in `headers`.
    body: bytes | None = None

    def __post_init__(self) -> None:
        check_max_retries(self.max_retries, self.provider)

    def __repr__(self) -> str:
        proxy = self.proxy and redact(self.proxy, (proxy_password(self.proxy),))
        return (
            f"Request(provider={self.provider!r}, headers={sorted(self.headers)!r}, "
            f"body={'json' if self.json is not None else 'form' if self.form else None}, "
            f"proxy={proxy!r}, timeouts={self.timeouts!r}, max_retries={self.max_retries}, "
            f"secrets=<{sum(1 for s in self.secrets if s)} masked>)"
        )


def check_max_retries(max_retries: Any, provider: str | None = None) -> None:
    """Refuse a `max_retries` that is not an integer ≥ 0 (every `Request` is checked; call it
    directly to check earlier, before work that sends other requests first)."""
    if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
        raise InvalidRequestError(
            f"max_retries must be an integer ≥ 0: {max_retries!r}", provider=provider
        )


def _retry_delay(attempt: int, retry_after: float | None) -> float:
    if retry_after is not None:
        return retry_after
    return min(INITIAL_RETRY_DELAY * 2.0**attempt, MAX_RETRY_DELAY) * (1 - 0.25 * random.random())


async def _error_for_response(response: Response, request: Request) -> LLMRelayError:
    raw = await response.content.read(MAX_ERROR_BODY)
    text = raw.decode("utf-8", "replace")
    try:
        body: Any = json.loads(text)
    except ValueError:
        body = text.strip() or (response.reason or "")
    return error_from_body(
        body,
        response.status,
        provider=request.provider,
        headers=response.headers,
        secrets=request.secrets,
    )


def _finish(response: Response) -> None:
    """Return a fully read connection to the pool; close one with unread data, so that an
    abandoned stream stops the upstream's work instead of idling in the pool."""
    response.release()


def _origin(url: str) -> str:
    scheme, host, port, _, _ = split_url(url)
    return f"{scheme}://{host}:{port}"


async def _send(
    method: str,
    url: str,
    data: bytes | None,
    headers: Mapping[str, str],
    request: Request,
    deadline: float | None,
) -> Response:
    """One attempt: send, and follow same-origin redirects (a 303, or a 301/302 of a POST,
    becomes a GET without body, as browsers do). A redirect to another origin is refused: its
    headers would carry the API key (`Authorization`, `x-api-key`, `x-goog-api-key`, `api-key`,
    …) to a host the caller never named."""
    proxy = request.proxy or None
    for _ in range(MAX_REDIRECTS + 1):
        response = await exchange(method, url, headers, data, request.timeouts, deadline, proxy)
        location = response.headers.get("Location")
        if response.status not in _REDIRECT_STATUSES or not location:
            return response
        response.close()
        following = urllib.parse.urljoin(url, location)
        if _origin(following) != _origin(url):
            raise ResponseStatusError(
                f"the server redirected to another origin, {_origin(following)}; llmrelay does "
                "not send credentials there (set the base URL to it if you trust it)",
                status_code=response.status,
                provider=request.provider,
                secrets=request.secrets,
            )
        log.debug("%s: following a %s redirect (same origin)", request.provider, response.status)
        if response.status == 303 or (response.status in (301, 302) and method == "POST"):
            method, data = "GET", None
        url = following
    raise ResponseStatusError(
        f"more than {MAX_REDIRECTS} redirects", provider=request.provider, status_code=310
    )


def _log_response(response: Response, request: Request) -> None:
    if log.isEnabledFor(logging.DEBUG):
        request_id = response.headers.get("x-request-id") or response.headers.get("request-id")
        log.debug(
            "%s: HTTP %s (request id %s)",
            request.provider,
            response.status,
            redact(request_id or "none", request.secrets),
        )


def open_response(method: str, url: str, request: Request) -> _Opened:
    """`async with open_response(...) as response`: send the request (retrying what is safe)
    and give the 2xx response; an error status raises the mapped error instead."""
    password = proxy_password(validate_proxy(request.proxy))
    if password:
        request = dataclasses.replace(request, secrets=(*request.secrets, password))
    return _Opened(method, url, request)


class _Opened:
    """The context manager `open_response` returns (a class, not a generator: it is on every
    request's path)."""

    __slots__ = ("method", "request", "response", "url")

    def __init__(self, method: str, url: str, request: Request) -> None:
        self.method, self.url, self.request = method, url, request
        self.response: Response | None = None

    async def __aenter__(self) -> Response:
        self.response = await _open(self.method, self.url, self.request)
        return self.response

    async def __aexit__(self, kind: Any, exc: BaseException | None, tb: Any) -> None:
        response, self.response = self.response, None
        try:
            if isinstance(exc, Exception):
                mapped = map_exception(exc, self.request)
                if mapped is not None:
                    raise mapped from cause(exc, self.request)
        finally:
            if response is not None:
                _finish(response)


async def _open(method: str, url: str, request: Request) -> Response:
    """Send, retrying what is safe, until a 2xx response (returned) or an error (raised)."""
    loop = asyncio.get_running_loop()
    timeouts = request.timeouts
    deadline = None if timeouts.total is None else loop.time() + timeouts.total
    headers = dict(request.headers)
    _default(headers, "User-Agent", USER_AGENT)
    data = request.body
    if request.form is not None:
        data = urllib.parse.urlencode(request.form).encode()
        _default(headers, "Content-Type", "application/x-www-form-urlencoded")
    elif request.json is not None:
        data = dumps(request.json)
        _default(headers, "Content-Type", "application/json")
    attempt = 0
    while True:
        if deadline is not None and deadline - loop.time() <= 0:
            raise TotalTimeoutError(
                f"no answer within {timeouts.total} s", provider=request.provider
            )
        error: LLMRelayError | None
        try:
            response = await _send(method, url, data, headers, request, deadline)
        except Exception as exc:
            error = map_exception(exc, request, answered=False)
            if error is None:
                raise
            error.__cause__ = cause(exc, request)
            error.__suppress_context__ = True
        else:
            _log_response(response, request)
            if response.status < 300:
                return response
            try:
                error = await _error_for_response(response, request)
            except Exception as exc:
                error = map_exception(exc, request)
                if error is None:
                    raise
                error.__cause__ = cause(exc, request)
                error.__suppress_context__ = True
            finally:
                _finish(response)
        delay = _retry_delay(attempt, error.retry_after)
        out_of_time = deadline is not None and loop.time() + delay >= deadline
        reason = type(error).__name__
        if attempt >= request.max_retries or not retryable(error) or out_of_time:
            why = (
                "not retryable" if not retryable(error)
                else "out of time" if out_of_time else "out of retries"
            )  # fmt: skip
            log.debug(
                "%s: giving up after %s (status %s): %s",
                request.provider, reason, error.status_code, why,
            )  # fmt: skip
            raise error
        attempt += 1
        log.debug(
            "%s: retry %d/%d after %s (status %s), waiting %.2f s",
            request.provider, attempt, request.max_retries, reason, error.status_code, delay,
        )  # fmt: skip
        await asyncio.sleep(delay)


def _default(headers: dict[str, str], name: str, value: str) -> None:
    """Set a header unless it is there in any case."""
    lowered = name.lower()
    if not any(key.lower() == lowered for key in headers):
        headers[name] = value
