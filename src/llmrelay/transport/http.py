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
past the total deadline.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import random
import urllib.parse
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import (
    APIConnectionError,
    ConnectTimeoutError,
    IdleTimeoutError,
    IncompleteResponseError,
    InvalidRequestError,
    LLMRelayError,
    ProxyError,
    ResponseError,
    TotalTimeoutError,
    error_from_body,
    redact,
)
from .ndjson import NDJSONDecodeError, NDJSONDecoder
from .session import get_session, proxy_password, validate_proxy
from .sse import ServerSentEvent, SSEDecoder

if TYPE_CHECKING:
    import aiohttp

__all__ = [
    "Request",
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
#: One server-sent event or NDJSON line may not exceed this.
MAX_EVENT_BYTES = 16 << 20
_RETRY_STATUSES = frozenset({408, 409, 429})


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Seconds; None means no limit."""

    connect: float | None = 10.0
    idle: float | None = 120.0
    total: float | None = 600.0

    @classmethod
    def from_param(cls, timeout: float | Timeouts | None) -> Timeouts:
        """The spec's `timeout` parameter (the total, in seconds) or a full `Timeouts`."""
        if timeout is None:
            return DEFAULT_TIMEOUTS
        if isinstance(timeout, Timeouts):
            return timeout
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
            raise InvalidRequestError(f"timeout must be a positive number of seconds: {timeout!r}")
        return cls(
            connect=min(DEFAULT_TIMEOUTS.connect or timeout, timeout),
            idle=min(DEFAULT_TIMEOUTS.idle or timeout, timeout),
            total=float(timeout),
        )


DEFAULT_TIMEOUTS = Timeouts()


@dataclass(frozen=True, slots=True)
class Request:
    """What every call needs besides method and URL."""

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


def _socks_error(exc: BaseException, request: Request) -> LLMRelayError | None:
    """python-socks' errors (raised through aiohttp-socks) derive from Exception alone."""
    kind = type(exc).__name__
    if not type(exc).__module__.startswith(("python_socks", "aiohttp_socks")):
        return None
    secrets, name = request.secrets, request.provider
    if kind == "ProxyTimeoutError":
        return ConnectTimeoutError(f"SOCKS proxy timed out: {exc}", provider=name, secrets=secrets)
    if kind == "ProxyConnectionError":
        return APIConnectionError(f"SOCKS proxy: {exc}", provider=name, secrets=secrets)
    return ProxyError(f"SOCKS proxy: {exc}", provider=name, secrets=secrets)


def _map_exception(exc: BaseException, request: Request) -> LLMRelayError | None:
    """The llmrelay error for an aiohttp/asyncio failure, or None if it is not one of those."""
    import aiohttp

    name = request.provider
    if isinstance(exc, LLMRelayError):
        return None
    if isinstance(exc, aiohttp.ClientHttpProxyError):
        return ProxyError(
            f"the proxy answered {exc.status} {exc.message}", status_code=exc.status, provider=name
        )
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return ConnectTimeoutError(
            f"no connection within {request.timeouts.connect} s", provider=name
        )
    if isinstance(exc, aiohttp.SocketTimeoutError):
        return IdleTimeoutError(
            f"no data for {request.timeouts.idle} s (idle timeout)", provider=name
        )
    if isinstance(exc, asyncio.TimeoutError):
        return TotalTimeoutError(
            f"no complete answer within {request.timeouts.total} s", provider=name
        )
    if isinstance(exc, aiohttp.ClientPayloadError | aiohttp.ServerDisconnectedError):
        return IncompleteResponseError(
            f"the connection closed before the response was complete ({type(exc).__name__})",
            provider=name,
        )
    if isinstance(exc, aiohttp.InvalidURL):
        return InvalidRequestError(f"invalid URL: {exc}", provider=name, secrets=request.secrets)
    if isinstance(exc, aiohttp.ClientError | OSError):
        return APIConnectionError(
            f"{type(exc).__name__}: {exc}", provider=name, secrets=request.secrets
        )
    return _socks_error(exc, request)


def _cause(exc: BaseException, request: Request) -> BaseException | None:
    """`exc` as the mapped error's cause, unless its text shows a secret (aiohttp puts the
    proxy URL, credentials included, in some of its errors)."""
    text = f"{exc}\n{exc!r}"
    return exc if redact(text, request.secrets) == text else None


def _retryable(error: LLMRelayError) -> bool:
    if isinstance(error, ProxyError):
        return False
    if isinstance(error, APIConnectionError | ConnectTimeoutError):
        return True
    status = error.status_code
    return status is not None and (status in _RETRY_STATUSES or status >= 500)


async def _error_for_response(response: aiohttp.ClientResponse, request: Request) -> LLMRelayError:
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


def _finish(response: aiohttp.ClientResponse) -> None:
    """Return a fully read connection to the pool; close one with unread data, so that an
    abandoned stream stops the upstream's work instead of idling in the pool."""
    if response.content.at_eof():
        response.release()
    else:
        response.close()


@asynccontextmanager
async def open_response(
    method: str, url: str, request: Request
) -> AsyncIterator[aiohttp.ClientResponse]:
    """Send the request (retrying what is safe) and yield the 2xx response."""
    import aiohttp

    proxy = validate_proxy(request.proxy)
    if proxy_password(proxy):
        request = dataclasses.replace(request, secrets=(*request.secrets, proxy_password(proxy)))
    session = await get_session(proxy)
    loop = asyncio.get_running_loop()
    timeouts = request.timeouts
    deadline = None if timeouts.total is None else loop.time() + timeouts.total
    http_proxy = proxy if proxy and not proxy.startswith("socks") else None
    headers = {"User-Agent": USER_AGENT, **request.headers}
    data = request.body
    if request.form is not None:
        data = urllib.parse.urlencode(request.form).encode()
        headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
    elif request.json is not None:
        data = json.dumps(request.json).encode()
        headers.setdefault("Content-Type", "application/json")
    attempt = 0
    while True:
        remaining = None if deadline is None else deadline - loop.time()
        if remaining is not None and remaining <= 0:
            raise TotalTimeoutError(
                f"no answer within {timeouts.total} s", provider=request.provider
            )
        client_timeout = aiohttp.ClientTimeout(
            total=remaining, sock_connect=timeouts.connect, sock_read=timeouts.idle
        )
        error: LLMRelayError | None
        try:
            response = await session.request(
                method, url, data=data, headers=headers, proxy=http_proxy, timeout=client_timeout
            )
        except Exception as exc:
            error = _map_exception(exc, request)
            if error is None:
                raise
            error.__cause__ = _cause(exc, request)
            error.__suppress_context__ = True
        else:
            if response.status < 300:
                try:
                    yield response
                except Exception as exc:
                    mapped = _map_exception(exc, request)
                    if mapped is None:
                        raise
                    raise mapped from _cause(exc, request)
                finally:
                    _finish(response)
                return
            try:
                error = await _error_for_response(response, request)
            except Exception as exc:
                error = _map_exception(exc, request)
                if error is None:
                    raise
            finally:
                _finish(response)
        delay = _retry_delay(attempt, error.retry_after)
        out_of_time = deadline is not None and loop.time() + delay >= deadline
        if attempt >= request.max_retries or not _retryable(error) or out_of_time:
            raise error
        attempt += 1
        await asyncio.sleep(delay)


async def read_json(response: aiohttp.ClientResponse, request: Request) -> Any:
    """The whole body as JSON; a body that is not JSON is a `ResponseError`."""
    raw = await response.read()
    try:
        return json.loads(raw)
    except ValueError as exc:
        snippet = redact(raw[:200].decode("utf-8", "replace"), request.secrets)
        raise ResponseError(
            f"the response is not JSON: {snippet!r}",
            status_code=response.status,
            provider=request.provider,
        ) from exc


def event_json(event: ServerSentEvent, request: Request) -> Any:
    """An event's data as JSON; data that is not JSON is a `ResponseError`."""
    try:
        return event.json()
    except ValueError as exc:
        raise ResponseError(
            f"invalid JSON in a stream event: {event.data[:200]!r}", provider=request.provider
        ) from exc


async def iter_sse(
    response: aiohttp.ClientResponse, request: Request
) -> AsyncIterator[ServerSentEvent]:
    """The server-sent events of the body; a stream cut mid-event raises
    `IncompleteResponseError` (a stream cut between events is the caller's to judge: only it
    knows the protocol's end marker)."""
    decoder = SSEDecoder(max_event_bytes=MAX_EVENT_BYTES)
    async for chunk in response.content.iter_any():
        for event in decoder.feed(chunk):
            yield event
    if decoder.pending:
        raise IncompleteResponseError(
            "the stream ended in the middle of an event", provider=request.provider
        )


async def iter_ndjson(response: aiohttp.ClientResponse, request: Request) -> AsyncIterator[Any]:
    """The JSON values of an NDJSON body, one per line."""
    decoder = NDJSONDecoder(max_line_bytes=MAX_EVENT_BYTES)
    try:
        async for chunk in response.content.iter_any():
            for value in decoder.feed(chunk):
                yield value
        for value in decoder.flush():
            yield value
    except NDJSONDecodeError as exc:
        raise ResponseError(
            f"invalid JSON line in the stream: {exc}", provider=request.provider
        ) from exc
