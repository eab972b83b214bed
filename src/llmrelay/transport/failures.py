"""Turning the connection layer's and the socket's failures into llmrelay errors, and which
ones are retried.

`map_exception` is the one table (a connection closed before any response byte is a
connection error, retried; after, the answer is incomplete); `cause` keeps the original
exception as the mapped one's cause only when its text shows no secret (a proxy library may put
the proxy URL, credentials included, in its errors); `retryable` says what a retry may fix.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

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
    redact,
)
from .connection import ConnectionClosed, ProxyRefused, TransportTimeout
from .wire import (
    IncompleteMessageError,
    ProtocolError,
    RequestEncodingError,
    UnsupportedEncodingError,
)

if TYPE_CHECKING:
    from .http import Request

__all__ = ["cause", "map_exception", "retryable"]

_RETRY_STATUSES = frozenset({408, 409, 429})


def _socks_error(exc: BaseException, request: Request) -> LLMRelayError | None:
    """python-socks' errors derive from Exception alone."""
    kind = type(exc).__name__
    if not type(exc).__module__.startswith("python_socks"):
        return None
    secrets, name = request.secrets, request.provider
    if kind == "ProxyTimeoutError":
        return ConnectTimeoutError(f"SOCKS proxy timed out: {exc}", provider=name, secrets=secrets)
    if kind == "ProxyConnectionError":
        return APIConnectionError(f"SOCKS proxy: {exc}", provider=name, secrets=secrets)
    return ProxyError(f"SOCKS proxy: {exc}", provider=name, secrets=secrets)


def map_exception(
    exc: BaseException, request: Request, *, answered: bool = True
) -> LLMRelayError | None:
    """The llmrelay error for a failure of the connection layer or the socket, or None if it
    is not one of those. A connection closed before any byte of the answer (`answered` False,
    or nothing had come on it) is a connection error, retried like the others (a stale
    keep-alive connection); after, the answer is incomplete."""
    name = request.provider
    if isinstance(exc, LLMRelayError):
        return None
    if isinstance(exc, ConnectionClosed):
        if not (answered and exc.answered):
            return APIConnectionError(
                f"the server closed the connection before answering ({exc})", provider=name
            )
        return IncompleteResponseError(
            f"the connection closed before the response was complete ({exc})", provider=name
        )
    if isinstance(exc, TransportTimeout):
        if exc.kind == "connect":
            return ConnectTimeoutError(
                f"no connection within {request.timeouts.connect} s", provider=name
            )
        if exc.kind == "idle":
            return IdleTimeoutError(
                f"no data for {request.timeouts.idle} s (idle timeout)", provider=name
            )
        return TotalTimeoutError(
            f"no complete answer within {request.timeouts.total} s", provider=name
        )
    if isinstance(exc, ProxyRefused):
        return ProxyError(
            f"the proxy answered {exc.status} {exc.reason}", status_code=exc.status, provider=name
        )
    if isinstance(exc, RequestEncodingError):
        return InvalidRequestError(
            f"the request cannot be sent: {exc}", provider=name, secrets=request.secrets
        )
    if isinstance(exc, UnsupportedEncodingError):
        return ResponseError(str(exc), provider=name)
    if isinstance(exc, IncompleteMessageError):
        return IncompleteResponseError(str(exc), provider=name)
    if isinstance(exc, ProtocolError):
        if not answered:
            return APIConnectionError(f"invalid HTTP response: {exc}", provider=name)
        return IncompleteResponseError(f"invalid HTTP response body: {exc}", provider=name)
    if isinstance(exc, asyncio.TimeoutError):
        return TotalTimeoutError(
            f"no complete answer within {request.timeouts.total} s", provider=name
        )
    if isinstance(exc, OSError):
        return APIConnectionError(
            f"{type(exc).__name__}: {exc}", provider=name, secrets=request.secrets
        )
    return _socks_error(exc, request)


def cause(exc: BaseException, request: Request) -> BaseException | None:
    """`exc` as the mapped error's cause, unless its text shows a secret (a proxy library may
    put the proxy URL, credentials included, in its errors)."""
    text = f"{exc}\n{exc!r}"
    return exc if redact(text, request.secrets) == text else None


def retryable(error: LLMRelayError) -> bool:
    if isinstance(error, ProxyError):
        return False
    if isinstance(error, APIConnectionError | ConnectTimeoutError):
        return True
    status = error.status_code
    return status is not None and (status in _RETRY_STATUSES or status >= 500)
