"""Keep-alive connections, pooled per event loop and per origin (and proxy), closed with their
loop.

A connection belongs to the loop that made it, so pools are kept per loop, in a weak map that
forgets a loop once it is gone. Each loop's connections are closed when the loop shuts down: a
small async generator is started on the loop, and `asyncio.run`/`Runner` close every async
generator (`loop.shutdown_asyncgens()`) before closing the loop, which runs its `finally` and
closes the connections. `aclose_connections()` closes the running loop's connections now.

A connection goes back to its pool only when its response was read to the end and the server
keeps it open; one idle for longer than `KEEPALIVE_SECONDS`, or closed by the server meanwhile,
is dropped when next looked at. At most `POOL_LIMIT_PER_HOST` idle connections are kept per
origin; there is no cap on connections in use (the gateway bounds its in-flight requests).
"""

from __future__ import annotations

import asyncio
import weakref
from collections import deque
from collections.abc import AsyncGenerator
from urllib.parse import urlsplit

from ..errors import InvalidRequestError
from .connection import Connection

__all__ = [
    "KEEPALIVE_SECONDS",
    "POOL_LIMIT_PER_HOST",
    "Pool",
    "aclose_connections",
    "get_pool",
    "proxy_password",
    "validate_proxy",
]

#: Idle keep-alive connections kept per origin.
POOL_LIMIT_PER_HOST = 64
#: An idle connection older than this is not reused (aiohttp's default too).
KEEPALIVE_SECONDS = 15.0
_PROXY_SCHEMES = ("http", "https", "socks4", "socks5", "socks5h")
#: (scheme, host, port, proxy URL or "")
PoolKey = tuple[str, str, int, str]


class Pool:
    """The idle connections of one event loop."""

    __slots__ = ("closer", "idle")

    def __init__(self) -> None:
        self.idle: dict[PoolKey, deque[Connection]] = {}
        self.closer: AsyncGenerator[None, None] | None = None

    def take(self, key: PoolKey, now: float) -> Connection | None:
        """An idle connection for `key` that is still good, or None."""
        idle = self.idle.get(key)
        while idle:
            connection = idle.pop()  # the most recently used: the least likely to be stale
            if connection.usable and now - connection.idle_since < KEEPALIVE_SECONDS:
                return connection
            connection.close()
        return None

    def put(self, key: PoolKey, connection: Connection, now: float) -> None:
        idle = self.idle.get(key)
        if idle is None:
            idle = self.idle[key] = deque()
        if len(idle) >= POOL_LIMIT_PER_HOST:
            idle.popleft().close()
        connection.parser = None
        connection.idle_since = now
        idle.append(connection)

    def close(self) -> None:
        pools, self.idle = self.idle, {}
        for idle in pools.values():
            for connection in idle:
                connection.close()


_by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Pool] = weakref.WeakKeyDictionary()


async def _close_at_shutdown(pool: Pool) -> AsyncGenerator[None, None]:
    try:
        yield
    finally:
        pool.close()


async def get_pool() -> Pool:
    """The running loop's pool (made, and registered to close with the loop, on first use)."""
    loop = asyncio.get_running_loop()
    pool = _by_loop.get(loop)
    if pool is None:
        pool = _by_loop[loop] = Pool()
        pool.closer = _close_at_shutdown(pool)
        await pool.closer.__anext__()  # registered with the loop's async-generator shutdown
    return pool


async def aclose_connections() -> None:
    """Close the running loop's idle connections now (new ones are made on next use)."""
    pool = _by_loop.get(asyncio.get_running_loop())
    if pool is not None:
        pool.close()
        await asyncio.sleep(0)  # let the transports finish closing


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
