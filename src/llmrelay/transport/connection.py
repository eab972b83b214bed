"""One HTTP/1.1 connection: an asyncio protocol that sends a request and receives its response.

The protocol feeds what arrives to a `wire.ResponseParser` and keeps the body's pieces until
they are read, pausing the socket when more than `_HIGH_WATER` bytes wait (backpressure: a
slow reader never makes it buffer a whole stream). Reads wait with a deadline: the idle
timeout counts from the last byte that arrived, the total one is the call's own; either raises
`TransportTimeout` and the connection is closed. What goes wrong on the socket is kept and
raised to the reader as `ConnectionClosed` (with whether any byte of the answer had come) or
the parser's `ProtocolError`.

`open_connection` makes a connection: directly (to given addresses only, for the media
fetcher), through an HTTP proxy (absolute-form requests for http, a `CONNECT` tunnel for
https) or through a SOCKS proxy (python-socks, the `socks` extra), with TLS for https.
"""

from __future__ import annotations

import asyncio
import base64
import os
import ssl
from collections import deque
from collections.abc import Sequence
from typing import Any, Literal, cast
from urllib.parse import unquote, urlsplit

from ..errors import MissingAiohttpSocksError
from .wire import ProtocolError, ResponseHead, ResponseParser, encode_request

__all__ = [
    "Connection",
    "ConnectionClosed",
    "ProxyRefused",
    "TransportTimeout",
    "open_connection",
    "proxy_authorization",
    "ssl_context",
]

_HIGH_WATER = 1 << 20  # pause reading past this much unread body
_LOW_WATER = 1 << 18  # and resume below this


class ConnectionClosed(Exception):  # noqa: N818 — named for what happened, as asyncio's are
    """The connection closed (or failed) before the response was complete. `answered`: some
    bytes of the response had arrived (a cut answer, not a stale connection)."""

    def __init__(self, message: str, answered: bool) -> None:
        super().__init__(message)
        self.answered = answered


class TransportTimeout(Exception):  # noqa: N818
    """A deadline passed: `kind` is "connect", "idle" (no byte for that long) or "total"."""

    def __init__(self, kind: Literal["connect", "idle", "total"]) -> None:
        super().__init__(f"{kind} timeout")
        self.kind = kind


class ProxyRefused(Exception):  # noqa: N818
    """An HTTP proxy answered `CONNECT` with something other than 2xx."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"the proxy answered {status} {reason}")
        self.status, self.reason = status, reason


class Connection(asyncio.Protocol):
    """A keep-alive HTTP/1.1 client connection (one request at a time)."""

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None
        self.parser: ResponseParser | None = None
        self.chunks: deque[bytes] = deque()
        self.buffered = 0
        self.paused = False
        self.waiter: asyncio.Future[None] | None = None
        self.drained: asyncio.Future[None] | None = None
        self.error: BaseException | None = None
        self.closed = False
        self.last_data = 0.0  # loop time of the last byte received
        self.idle_since = 0.0  # loop time it went back to the pool
        self.answered = False

    # -- asyncio callbacks ---------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        parser = self.parser
        if parser is None:  # bytes nobody asked for: this connection cannot be trusted
            self.close()
            return
        self.last_data = self.loop.time()
        self.answered = True
        try:
            pieces = parser.feed(data)
        except ProtocolError as exc:
            self.error = exc
            self.close()
        else:
            if pieces:
                self.chunks.extend(pieces)
                for piece in pieces:
                    self.buffered += len(piece)
                if self.buffered > _HIGH_WATER and not self.paused and self.transport:
                    self.paused = True
                    self.transport.pause_reading()
        self._wake()

    def eof_received(self) -> bool:
        parser = self.parser
        if parser is not None and self.error is None:
            try:
                parser.feed_eof()
            except ProtocolError as exc:
                self.error = ConnectionClosed(str(exc), self.answered)
        self.closed = True
        self._wake()
        return False  # asyncio closes the transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        parser = self.parser
        if parser is not None and not parser.done and self.error is None:
            why = f"{type(exc).__name__}: {exc}" if exc else "the server closed the connection"
            self.error = ConnectionClosed(why, self.answered)
        self._wake()
        if self.drained is not None and not self.drained.done():
            self.drained.set_result(None)

    def pause_writing(self) -> None:
        self.drained = self.loop.create_future()

    def resume_writing(self) -> None:
        if self.drained is not None and not self.drained.done():
            self.drained.set_result(None)
        self.drained = None

    def _wake(self) -> None:
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # -- the exchange --------------------------------------------------------------------------

    @property
    def usable(self) -> bool:
        """Idle and open: may carry another request."""
        transport = self.transport
        return not self.closed and transport is not None and not transport.is_closing()

    @property
    def reusable(self) -> bool:
        """The response was read to its end and the server keeps the connection open."""
        parser = self.parser
        return (
            parser is not None
            and parser.done
            and parser.keep_alive
            and not parser.trailing
            and not self.chunks
            and self.error is None
            and self.usable
        )

    async def send(self, data: bytes, method: str) -> None:
        """Write a request (whole); its response is then read with `head` and `read`."""
        assert self.transport is not None
        self.parser = ResponseParser(method)
        self.chunks.clear()
        self.buffered, self.answered, self.error = 0, False, None
        self.last_data = self.loop.time()
        self.transport.write(data)
        if self.drained is not None:
            await self.drained

    async def head(self, deadline: float | None, idle: float | None) -> ResponseHead:
        parser = self.parser
        assert parser is not None
        while parser.head is None:
            if self.error is not None:
                raise self.error
            if self.closed:
                raise ConnectionClosed("the server closed the connection", self.answered)
            await self._wait(deadline, idle)
        return parser.head

    async def read(self, deadline: float | None, idle: float | None) -> bytes:
        """The body that has arrived since the last read (waiting for some if none has), or
        b"" at its end."""
        parser = self.parser
        assert parser is not None
        while True:
            chunks = self.chunks
            if chunks:  # everything that has come, in one piece (as aiohttp's readany)
                piece = chunks.popleft() if len(chunks) == 1 else b"".join(chunks)
                chunks.clear()
                self.buffered = 0
                if self.paused and self.buffered < _LOW_WATER and self.transport:
                    self.paused = False
                    self.transport.resume_reading()
                return piece
            if parser.done:
                return b""
            if self.error is not None:
                raise self.error
            if self.closed:
                raise ConnectionClosed("the server closed the connection", self.answered)
            await self._wait(deadline, idle)

    async def _wait(self, deadline: float | None, idle: float | None) -> None:
        loop = self.loop
        when: float | None = None if idle is None else self.last_data + idle
        kind: Literal["idle", "total"] = "idle"
        if deadline is not None and (when is None or deadline <= when):
            when, kind = deadline, "total"
        waiter = self.waiter = loop.create_future()
        timer = None if when is None else loop.call_at(when, _expire, waiter, kind)
        try:
            await waiter
        except TransportTimeout:
            self.close()
            raise
        finally:
            self.waiter = None
            if timer is not None:
                timer.cancel()

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


def _expire(waiter: asyncio.Future[None], kind: Literal["idle", "total"]) -> None:
    if not waiter.done():
        waiter.set_exception(TransportTimeout(kind))


# -- making connections --------------------------------------------------------------------------

_contexts: dict[tuple[str | None, str | None], ssl.SSLContext] = {}


def ssl_context() -> ssl.SSLContext:
    """The verifying TLS context (the system's CAs; `SSL_CERT_FILE`/`SSL_CERT_DIR` honoured),
    made once per pair of those variables."""
    key = (os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))
    context = _contexts.get(key)
    if context is None:
        context = ssl.create_default_context()
        context.set_alpn_protocols(["http/1.1"])
        if len(_contexts) > 8:
            _contexts.clear()
        _contexts[key] = context
    return context


def proxy_authorization(proxy: str) -> str | None:
    """The `Proxy-Authorization` value for the credentials in an HTTP proxy's URL, if any."""
    parts = urlsplit(proxy)
    if parts.username is None:
        return None
    token = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
    return "Basic " + base64.b64encode(token).decode("ascii")


async def open_connection(
    scheme: str,
    host: str,
    port: int,
    proxy: str | None = None,
    addresses: Sequence[str] = (),
) -> Connection:
    """A new connection to `host:port` (TLS for https). `addresses`: connect to these IPs
    only (each tried in turn), never resolving `host`. The caller bounds the time taken."""
    loop = asyncio.get_running_loop()
    context = ssl_context() if scheme == "https" else None
    server_hostname = host if context is not None else None
    if proxy is None:
        if not addresses:
            if isinstance(loop, asyncio.BaseEventLoop):  # Happy Eyeballs (uvloop has none)
                _, connection = await loop.create_connection(
                    Connection, host, port, ssl=context, happy_eyeballs_delay=0.25
                )
            else:
                _, connection = await loop.create_connection(Connection, host, port, ssl=context)
            return connection
        error: OSError | None = None
        for address in addresses:
            try:
                _, connection = await loop.create_connection(
                    Connection, address, port, ssl=context, server_hostname=server_hostname
                )
                return connection
            except OSError as exc:
                error = exc
        assert error is not None
        raise error
    parts = urlsplit(proxy)
    proxy_scheme = parts.scheme.lower()
    if proxy_scheme.startswith("socks"):
        sock = await _socks(proxy, host, port)
        _, connection = await loop.create_connection(
            Connection, sock=sock, ssl=context, server_hostname=server_hostname
        )
        return connection
    proxy_context = ssl_context() if proxy_scheme == "https" else None
    proxy_host, proxy_port = parts.hostname or "", parts.port or (443 if proxy_context else 80)
    _, connection = await loop.create_connection(
        Connection, proxy_host, proxy_port, ssl=proxy_context
    )
    if context is None:  # http through the proxy: absolute-form requests on this connection
        return connection
    try:
        await _tunnel(connection, host, port, proxy_authorization(proxy))
        assert connection.transport is not None
        transport = await loop.start_tls(
            connection.transport, connection, context, server_hostname=host
        )
    except BaseException:
        connection.close()
        raise
    connection.transport = cast(asyncio.Transport, transport)
    return connection


async def _tunnel(connection: Connection, host: str, port: int, authorization: str | None) -> None:
    """`CONNECT host:port` on a new proxy connection; `ProxyRefused` unless it answers 2xx."""
    target = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    headers = {"Proxy-Authorization": authorization} if authorization else {}
    await connection.send(encode_request("CONNECT", target, target, headers, None), "CONNECT")
    head = await connection.head(None, None)
    if not 200 <= head.status < 300:
        raise ProxyRefused(head.status, head.reason)
    connection.parser = None


async def _socks(proxy: str, host: str, port: int) -> Any:
    """A socket connected to `host:port` through a SOCKS proxy (socks5h: the proxy resolves)."""
    try:
        from python_socks.async_.asyncio import Proxy
    except ImportError as exc:
        raise MissingAiohttpSocksError() from exc
    remote_dns = proxy.startswith("socks5h://")
    if remote_dns:
        proxy = "socks5://" + proxy.removeprefix("socks5h://")
    return await Proxy.from_url(proxy, rdns=remote_dns).connect(dest_host=host, dest_port=port)
