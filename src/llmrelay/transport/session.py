"""Pooled aiohttp sessions: one per event loop (and per SOCKS proxy), closed with their loop.

A session is bound to the loop that created it, so sessions are kept per loop, in a weak map
that forgets a loop once it is gone. Each loop's sessions are closed when the loop shuts down:
a small async generator is started on the loop, and `asyncio.run`/`Runner` close every async
generator (`loop.shutdown_asyncgens()`) before closing the loop, which runs its `finally` and
closes the sessions — so no "Unclosed client session" warning is ever printed. The bridge loop's
sessions are closed by the same mechanism when the interpreter exits. `aclose_sessions()` closes
the running loop's sessions explicitly.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import AsyncGenerator
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from ..errors import InvalidRequestError, MissingAiohttpSocksError

if TYPE_CHECKING:
    import aiohttp

__all__ = ["aclose_sessions", "get_session", "proxy_password", "validate_proxy"]

#: Keep-alive connections per host; enough for a gateway worker's concurrency.
POOL_LIMIT_PER_HOST = 64
_PROXY_SCHEMES = ("http", "https", "socks4", "socks5", "socks5h")


class _LoopSessions:
    """The sessions of one event loop, keyed by SOCKS proxy URL ("" for direct/HTTP proxy)."""

    def __init__(self) -> None:
        self.sessions: dict[str, aiohttp.ClientSession] = {}
        self.closer: AsyncGenerator[None, None] | None = None

    async def close(self) -> None:
        sessions, self.sessions = list(self.sessions.values()), {}
        for session in sessions:
            with contextlib.suppress(Exception):
                await session.close()


_by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopSessions] = (
    weakref.WeakKeyDictionary()
)


async def _close_at_shutdown(pool: _LoopSessions) -> AsyncGenerator[None, None]:
    try:
        yield
    finally:
        await pool.close()


def validate_proxy(proxy: str | None) -> str | None:
    """Return `proxy` if it is a usable proxy URL; raise `InvalidRequestError` (never showing
    its credentials) otherwise."""
    if proxy is None or proxy == "":
        return None
    usage = "proxy must be a URL such as http://user:pass@host:port or socks5://host:port"
    if not isinstance(proxy, str) or "://" not in proxy:
        raise InvalidRequestError(usage)
    parts = urlsplit(proxy)
    scheme = parts.scheme.lower()
    if scheme not in _PROXY_SCHEMES:
        raise InvalidRequestError(
            f"unsupported proxy scheme {scheme!r}; use one of {', '.join(_PROXY_SCHEMES)}"
        )
    try:
        port = parts.port
    except ValueError:
        port = -1
    if not parts.hostname or port == -1 or (port is None and scheme.startswith("socks")):
        where = f"{scheme}://{parts.hostname or '?'}"
        raise InvalidRequestError(f"{usage} (got a bad host or port in {where}…)")
    return proxy


def proxy_password(proxy: str | None) -> str | None:
    """The password in a proxy URL, to be masked in errors."""
    return urlsplit(proxy).password if proxy else None


def _connector(proxy: str) -> aiohttp.BaseConnector:
    import aiohttp

    if not proxy.startswith("socks"):
        return aiohttp.TCPConnector(limit=0, limit_per_host=POOL_LIMIT_PER_HOST)
    try:
        from aiohttp_socks import ProxyConnector
    except ImportError as exc:
        raise MissingAiohttpSocksError() from exc
    remote_dns = proxy.startswith("socks5h://")  # the proxy resolves host names
    if remote_dns:
        proxy = "socks5://" + proxy.removeprefix("socks5h://")
    return ProxyConnector.from_url(
        proxy, rdns=remote_dns, limit=0, limit_per_host=POOL_LIMIT_PER_HOST
    )


async def get_session(proxy: str | None = None) -> aiohttp.ClientSession:
    """The running loop's pooled session (its own one for a SOCKS `proxy`; HTTP proxies are
    given per request)."""
    import aiohttp

    loop = asyncio.get_running_loop()
    pool = _by_loop.get(loop)
    if pool is None:
        pool = _by_loop[loop] = _LoopSessions()
        pool.closer = _close_at_shutdown(pool)
        await pool.closer.__anext__()  # registered with the loop's async-generator shutdown
    key = proxy if proxy and proxy.startswith("socks") else ""
    session = pool.sessions.get(key)
    if session is None or session.closed:
        session = aiohttp.ClientSession(
            connector=_connector(key),
            # Timeouts are given per request; a session-wide default would cap streams.
            timeout=aiohttp.ClientTimeout(total=None),
            auto_decompress=True,
            trust_env=False,
        )
        pool.sessions[key] = session
    return session


async def aclose_sessions() -> None:
    """Close the running loop's pooled sessions now (they are reopened on next use)."""
    pool = _by_loop.get(asyncio.get_running_loop())
    if pool is not None:
        await pool.close()
