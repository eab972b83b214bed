"""One exchange: a request sent on a pooled (or new) connection, and its `Response`.

`exchange(...)` takes a connection from the loop's pool or opens one (bounded by the connect
and total timeouts), writes the request in one piece and waits for the response's head. The
`Response` gives the status, headers and the body (`response.content`: `read`, `iter_any`,
`iter_chunked`, lines), decompressed (gzip and deflate, which is all it asks for) in pieces of
at most 64 KiB, so that callers that cap a body's size cap what it decompresses to.
`response.release()` returns the connection to the pool if the whole response has arrived and
been read (a stream's reader may stop at its end marker, before the body's last empty chunk
is read) and the server keeps it open; anything else closes it (an abandoned stream stops the
upstream's work instead of idling in the pool).
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import TYPE_CHECKING
from urllib.parse import quote, urlsplit

from ..errors import InvalidRequestError
from .connection import Connection, TransportTimeout, open_connection, proxy_authorization
from .pool import Pool, PoolKey, get_pool
from .wire import (
    IncompleteMessageError,
    ProtocolError,
    ResponseHead,
    UnsupportedEncodingError,
    encode_request,
)

if TYPE_CHECKING:
    from .timeouts import Timeouts

__all__ = ["Body", "Response", "exchange", "split_url"]

ACCEPT_ENCODING = "gzip, deflate"
_PIECE = 1 << 16  # decompressed pieces at most this large
_DEFAULT_PORTS = {"http": 80, "https": 443}
_PATH_SAFE = "/%:@!$&'()*+,;=-._~"
_QUERY_SAFE = _PATH_SAFE + "?"


def split_url(url: str) -> tuple[str, str, int, str, str]:
    """`(scheme, host, port, request target, Host header)` of an http(s) URL; anything else
    is an `InvalidRequestError`. Path and query are percent-encoded where they need it."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except (ValueError, TypeError):
        raise InvalidRequestError(f"invalid URL: {str(url)[:100]!r}") from None
    scheme, host = parts.scheme.lower(), parts.hostname
    if scheme not in _DEFAULT_PORTS or not host:
        raise InvalidRequestError(f"not an http(s) URL: {url.split('?', 1)[0][:100]!r}")
    if not host.isascii():
        host = host.encode("idna").decode("ascii")
    port = port or _DEFAULT_PORTS[scheme]
    target = quote(parts.path or "/", safe=_PATH_SAFE)
    if parts.query:
        target += "?" + quote(parts.query, safe=_QUERY_SAFE)
    shown = f"[{host}]" if ":" in host else host
    if port != _DEFAULT_PORTS[scheme]:
        shown += f":{port}"
    return scheme, host, port, target, shown


class Body:
    """A response's body, read in pieces as they arrive."""

    __slots__ = ("_connection", "_deadline", "_decoder", "_eof", "_idle", "_tail")

    def __init__(
        self,
        connection: Connection,
        deadline: float | None,
        idle: float | None,
        encoding: str | None,
    ) -> None:
        self._connection, self._deadline, self._idle = connection, deadline, idle
        self._eof = False
        self._tail = b""  # compressed bytes not yet decompressed
        self._decoder = None
        if encoding:
            coding = encoding.strip().lower()
            if coding in ("gzip", "x-gzip", "deflate"):
                self._decoder = zlib.decompressobj(47)  # gzip or zlib header, detected
            elif coding != "identity":
                raise UnsupportedEncodingError(f"unsupported Content-Encoding {coding!r}")

    def at_eof(self) -> bool:
        return self._eof

    async def _piece(self) -> bytes:
        """The next piece of the (decompressed) body, b"" at its end."""
        if self._eof:
            return b""
        decoder = self._decoder
        if decoder is None:
            piece = await self._connection.read(self._deadline, self._idle)
            if not piece:
                self._eof = True
            return piece
        while True:
            if self._tail:
                try:
                    piece = decoder.decompress(self._tail, _PIECE)
                except zlib.error as exc:
                    raise ProtocolError(f"the compressed body is corrupt: {exc}") from None
                self._tail = decoder.unconsumed_tail
                if piece:
                    return piece
                if decoder.eof:
                    self._tail = b""
            raw = await self._connection.read(self._deadline, self._idle)
            if not raw:
                self._eof = True
                if not decoder.eof:
                    raise IncompleteMessageError("the compressed body ended before its end")
                return b""
            self._tail = raw

    async def read(self, n: int = -1) -> bytes:
        """The rest of the body; with n ≥ 0, its first `n` bytes (what came beyond them in the
        last piece read is dropped: for error bodies, read up to a cap)."""
        parts: list[bytes] = []
        size = 0
        while n < 0 or size < n:
            piece = await self._piece()
            if not piece:
                break
            parts.append(piece)
            size += len(piece)
        data = parts[0] if len(parts) == 1 else b"".join(parts)
        return data if n < 0 else data[:n]

    async def iter_any(self) -> AsyncIterator[bytes]:
        """Each piece as it arrives."""
        while piece := await self._piece():
            yield piece

    async def iter_chunked(self, size: int) -> AsyncIterator[bytes]:
        """Pieces of at most `size` bytes, each given as soon as it has arrived (as aiohttp's:
        what came before a cut is never held back)."""
        async for piece in self.iter_any():
            for start in range(0, len(piece), size):
                yield piece[start : start + size]

    async def __aiter__(self) -> AsyncIterator[bytes]:
        """Line by line, each with its line end."""
        pending = b""
        async for piece in self.iter_any():
            pending += piece
            start = 0
            while (end := pending.find(b"\n", start)) >= 0:
                yield pending[start : end + 1]
                start = end + 1
            pending = pending[start:]
        if pending:
            yield pending


class Response:
    """A response whose head has arrived."""

    __slots__ = ("_connection", "_key", "_pool", "content", "headers", "reason", "status", "url")

    def __init__(
        self,
        head: ResponseHead,
        url: str,
        connection: Connection,
        pool: Pool | None,
        key: PoolKey,
        deadline: float | None,
        idle: float | None,
    ) -> None:
        self.status, self.reason, self.headers, self.url = (
            head.status, head.reason, head.headers, url
        )  # fmt: skip
        self._connection: Connection | None = connection
        self._pool, self._key = pool, key
        self.content = Body(connection, deadline, idle, head.headers.get("content-encoding"))

    @property
    def content_length(self) -> int | None:
        """The body's declared length (before decompression), if it has one."""
        value = self.headers.get("content-length")
        if value is None or "transfer-encoding" in self.headers or not value.isdigit():
            return None
        return int(value)

    @property
    def content_type(self) -> str:
        value = self.headers.get("content-type") or "application/octet-stream"
        return value.split(";", 1)[0].strip().lower()

    def get_encoding(self) -> str:
        """The charset the Content-Type names, else UTF-8."""
        for parameter in (self.headers.get("content-type") or "").split(";")[1:]:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "charset" and value.strip():
                return value.strip().strip('"')
        return "utf-8"

    async def read(self) -> bytes:
        return await self.content.read()

    def release(self) -> None:
        """Done with it: the connection goes back to the pool if it can carry another
        request, else it is closed."""
        connection, self._connection = self._connection, None
        if connection is None:
            return
        if self._pool is not None and connection.reusable:  # every byte came and was read
            self._pool.put(self._key, connection, connection.loop.time())
        else:
            connection.close()

    def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()


def _headers(headers: Mapping[str, str], authorization: str | None) -> dict[str, str]:
    lowered = {name.lower() for name in headers}
    extra = {}
    if "accept-encoding" not in lowered:
        extra["Accept-Encoding"] = ACCEPT_ENCODING
    if authorization is not None:
        extra["Proxy-Authorization"] = authorization
    return {**headers, **extra} if extra else dict(headers)


async def exchange(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes | None,
    timeouts: Timeouts,
    deadline: float | None,
    proxy: str | None = None,
    addresses: Sequence[str] = (),
) -> Response:
    """Send one request and wait for its response's head. `addresses`: connect to these IPs
    only, on a connection of its own (never pooled). `deadline` is in loop time."""
    scheme, host, port, target, host_header = split_url(url)
    authorization = None
    if proxy and scheme == "http" and not proxy.startswith("socks"):
        target = f"http://{host_header}{target}"  # absolute-form, for the proxy
        authorization = proxy_authorization(proxy)
    # Written before connecting: a request that cannot be sent opens nothing.
    data = encode_request(method, target, host_header, _headers(headers, authorization), body)
    key: PoolKey = (scheme, host, port, proxy or "")
    loop = asyncio.get_running_loop()
    pool = None if addresses else await get_pool()
    connection = None if pool is None else pool.take(key, loop.time())
    if connection is None:
        connection = await _connect(scheme, host, port, proxy, addresses, timeouts, deadline)
    try:
        await connection.send(data, method)
        head = await connection.head(deadline, timeouts.idle)
        return Response(head, url, connection, pool, key, deadline, timeouts.idle)
    except BaseException:
        connection.close()
        raise


async def _connect(
    scheme: str,
    host: str,
    port: int,
    proxy: str | None,
    addresses: Sequence[str],
    timeouts: Timeouts,
    deadline: float | None,
) -> Connection:
    loop = asyncio.get_running_loop()
    limit, kind = timeouts.connect, "connect"
    if deadline is not None and (limit is None or deadline - loop.time() < limit):
        limit, kind = max(deadline - loop.time(), 0.0), "total"
    try:
        async with asyncio.timeout(limit):
            return await open_connection(scheme, host, port, proxy, addresses)
    except TimeoutError:
        raise TransportTimeout("connect" if kind == "connect" else "total") from None
