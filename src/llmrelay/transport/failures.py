"""Turning aiohttp's and asyncio's failures into llmrelay errors, and which ones are retried.

`map_exception` is the one table (a connection closed before any response byte is a
connection error, retried; after, the answer is incomplete); `cause` keeps the original
exception as the mapped one's cause only when its text shows no secret (aiohttp puts the proxy
URL, credentials included, in some of its errors); `retryable` says what a retry may fix.
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
    TotalTimeoutError,
    redact,
)

if TYPE_CHECKING:
    from .http import Request

__all__ = ["cause", "map_exception", "retryable"]

_RETRY_STATUSES = frozenset({408, 409, 429})


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


def map_exception(
    exc: BaseException, request: Request, *, answered: bool = True
) -> LLMRelayError | None:
    """The llmrelay error for an aiohttp/asyncio failure, or None if it is not one of those.
    Before any response byte (`answered` False) a closed connection is a connection error,
    retried like the others (a stale keep-alive connection); after, the answer is incomplete."""
    import aiohttp

    name = request.provider
    if isinstance(exc, LLMRelayError):
        return None
    if not answered and isinstance(exc, aiohttp.ServerDisconnectedError):
        return APIConnectionError(
            "the server closed the connection before answering (ServerDisconnectedError)",
            provider=name,
        )
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


def cause(exc: BaseException, request: Request) -> BaseException | None:
    """`exc` as the mapped error's cause, unless its text shows a secret (aiohttp puts the
    proxy URL, credentials included, in some of its errors)."""
    text = f"{exc}\n{exc!r}"
    return exc if redact(text, request.secrets) == text else None


def retryable(error: LLMRelayError) -> bool:
    if isinstance(error, ProxyError):
        return False
    if isinstance(error, APIConnectionError | ConnectTimeoutError):
        return True
    status = error.status_code
    return status is not None and (status in _RETRY_STATUSES or status >= 500)
