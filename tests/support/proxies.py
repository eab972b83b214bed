"""Tiny forward proxies on loopback for tests, stdlib asyncio streams only.

    async with HttpProxy("user", "pass") as proxy:    # proxy.url == "http://user:pass@127.0.0.1:P"
        ...                                            # proxy.connections == ["127.0.0.1:8080"]
    async with Socks5Proxy() as proxy:                 # proxy.url == "socks5://127.0.0.1:P"
        ...

`HttpProxy` serves absolute-form requests (`POST http://host:port/path HTTP/1.1`, what clients
send for http:// targets; rewritten to origin-form, with `Connection: close`, so each request
has its own connection) and `CONNECT host:port` tunnels. `Socks5Proxy` is RFC 1928 (CONNECT
only, IPv4/domain/IPv6 addresses) with RFC 1929 username/password auth. Both record each target
they forwarded to ("host:port", IPv6 hosts in brackets) in `connections`, count refused
credentials in `auth_failures` and client connections in `accepted`. Leaving the context closes
the listener and every connection and task.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hmac
import ipaddress
import struct
from types import TracebackType
from typing import ClassVar, Self
from urllib.parse import quote, urlsplit

__all__ = ["HttpProxy", "Socks5Proxy"]

HOST = "127.0.0.1"
_HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-authorization", "proxy-connection"})


def _hostport(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(Exception):
        await writer.wait_closed()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy `reader` to `writer` until EOF, then half-close `writer`."""
    with contextlib.suppress(ConnectionError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    with contextlib.suppress(OSError, RuntimeError):
        if writer.can_write_eof() and not writer.is_closing():
            writer.write_eof()


class _ProxyServer:
    """Listener, bookkeeping and shutdown shared by both proxies."""

    scheme: ClassVar[str]

    def __init__(self, username: str | None = None, password: str | None = None) -> None:
        if (username is None) != (password is None):
            raise ValueError("give both username and password, or neither")
        self.username = username
        self.password = password
        self.connections: list[str] = []
        self.auth_failures = 0
        self.accepted = 0
        self.port = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        """The proxy's URL, credentials (percent-encoded) included when configured."""
        auth = ""
        if self.username is not None and self.password is not None:
            auth = f"{quote(self.username, safe='')}:{quote(self.password, safe='')}@"
        return f"{self.scheme}://{auth}{HOST}:{self.port}"

    async def __aenter__(self) -> Self:
        self._server = await asyncio.start_server(self._handle, HOST, 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._server is not None
        self._server.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        assert self._server is not None
        if not self._server.is_serving():  # accepted while shutting down
            await _close(writer)
            return
        self._tasks.add(task)
        self.accepted += 1
        upstream: asyncio.StreamWriter | None = None
        try:
            upstream_pair = await self._serve(reader, writer)
            if upstream_pair is not None:
                upstream_reader, upstream = upstream_pair
                await asyncio.gather(_pipe(reader, upstream), _pipe(upstream_reader, writer))
        except (ConnectionError, EOFError, ValueError, asyncio.LimitOverrunError):
            pass  # the client went away or spoke garbage: just hang up
        except asyncio.CancelledError:
            pass  # shutdown; Python 3.11 logs a connection handler task that ends cancelled
        finally:
            if upstream is not None:
                await _close(upstream)
            await _close(writer)
            self._tasks.discard(task)

    async def _serve(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        """Handshake; return the upstream connection to pipe to, or None to hang up (nothing
        may be awaited once the upstream connection is open, so that it cannot leak)."""
        raise NotImplementedError

    def _check(self, username: str, password: str) -> bool:
        ok = self.username is None or (
            hmac.compare_digest(username.encode(), self.username.encode())
            and hmac.compare_digest(password.encode(), (self.password or "").encode())
        )
        if not ok:
            self.auth_failures += 1
        return ok


class HttpProxy(_ProxyServer):
    """HTTP/1.1 forward proxy: absolute-form requests and CONNECT, optional Basic auth."""

    scheme = "http"

    async def _serve(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        request_line, *lines = head[:-4].split("\r\n")
        method, target, version = request_line.split(" ", 2)
        headers = [(n.strip(), v.strip()) for n, _, v in (line.partition(":") for line in lines)]
        given = {name.lower(): value for name, value in headers}
        if not self._authorized(given.get("proxy-authorization", "")):
            # Read the body first: closing with unread data would reset the connection.
            await reader.readexactly(int(given.get("content-length", "0")))
            writer.write(
                b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                b'Proxy-Authenticate: Basic realm="test"\r\n'
                b"Content-Length: 0\r\nConnection: close\r\n\r\n"
            )
            return None
        if method == "CONNECT":
            host, _, port = target.rpartition(":")
            host = host.strip("[]")
        else:
            url = urlsplit(target)
            if url.scheme != "http" or not url.hostname:
                self._reply(writer, "400 Bad Request")
                return None
            host, port = url.hostname, str(url.port or 80)
        try:
            upstream = await asyncio.open_connection(host, int(port))
        except (OSError, ValueError):
            self._reply(writer, "502 Bad Gateway")
            return None
        self.connections.append(_hostport(host, int(port)))
        if method == "CONNECT":
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        else:
            path = url.path or "/"
            kept = [f"{n}: {v}\r\n" for n, v in headers if n.lower() not in _HOP_BY_HOP]
            forwarded = f"{method} {path}{'?' + url.query if url.query else ''} {version}\r\n"
            upstream[1].write(f"{forwarded}{''.join(kept)}Connection: close\r\n\r\n".encode())
        return upstream

    def _authorized(self, header: str) -> bool:
        if self.username is None:
            return True
        scheme, _, encoded = header.partition(" ")
        try:
            decoded = base64.b64decode(encoded, validate=True).decode()
        except ValueError:
            decoded = ""
        if scheme.lower() != "basic":
            decoded = ""
        username, _, password = decoded.partition(":")
        return self._check(username, password)

    @staticmethod
    def _reply(writer: asyncio.StreamWriter, status: str) -> None:
        writer.write(
            f"HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode()
        )


class Socks5Proxy(_ProxyServer):
    """SOCKS5 (RFC 1928) CONNECT proxy, no auth or username/password (RFC 1929)."""

    scheme = "socks5"
    SUCCEEDED, GENERAL_FAILURE, CONNECTION_REFUSED = 0x00, 0x01, 0x05
    COMMAND_NOT_SUPPORTED, ADDRESS_TYPE_NOT_SUPPORTED = 0x07, 0x08

    async def _serve(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        version, count = await reader.readexactly(2)
        if version != 5:
            return None
        methods = await reader.readexactly(count)
        method = 0x00 if self.username is None else 0x02
        if method not in methods:
            if method == 0x02:
                self.auth_failures += 1
            writer.write(b"\x05\xff")
            return None
        writer.write(bytes([5, method]))
        if method == 0x02:
            _, length = await reader.readexactly(2)
            username = (await reader.readexactly(length)).decode("utf-8", "replace")
            (length,) = await reader.readexactly(1)
            password = (await reader.readexactly(length)).decode("utf-8", "replace")
            ok = self._check(username, password)
            writer.write(b"\x01\x00" if ok else b"\x01\x01")
            if not ok:
                return None
        _, command, _, address_type = await reader.readexactly(4)
        if address_type == 1:
            host = str(ipaddress.IPv4Address(await reader.readexactly(4)))
        elif address_type == 3:
            (length,) = await reader.readexactly(1)
            host = (await reader.readexactly(length)).decode("idna")
        elif address_type == 4:
            host = str(ipaddress.IPv6Address(await reader.readexactly(16)))
        else:
            return self._reply(writer, self.ADDRESS_TYPE_NOT_SUPPORTED)
        (port,) = struct.unpack("!H", await reader.readexactly(2))
        if command != 1:
            return self._reply(writer, self.COMMAND_NOT_SUPPORTED)
        try:
            upstream = await asyncio.open_connection(host, port)
        except ConnectionRefusedError:
            return self._reply(writer, self.CONNECTION_REFUSED)
        except OSError:
            return self._reply(writer, self.GENERAL_FAILURE)
        self.connections.append(_hostport(host, port))
        bound_host, bound_port = upstream[1].get_extra_info("sockname")[:2]
        self._reply(writer, self.SUCCEEDED, bound_host, bound_port)
        return upstream

    @staticmethod
    def _reply(
        writer: asyncio.StreamWriter, code: int, host: str = "0.0.0.0", port: int = 0
    ) -> None:
        address = ipaddress.ip_address(host)
        kind = 1 if address.version == 4 else 4
        writer.write(bytes([5, code, 0, kind]) + address.packed + struct.pack("!H", port))
