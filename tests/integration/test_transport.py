"""llmrelay's own HTTP/1.1 client against real servers on loopback: keep-alive pooling,
connections that must not be reused, compression, backpressure, TLS (with a CA the test
makes), https through an HTTP proxy's CONNECT tunnel, and requests that must never be sent.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import pathlib
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web

from llmrelay.errors import (
    APIConnectionError,
    IncompleteResponseError,
    InvalidRequestError,
    ResponseError,
    ResponseTooLargeError,
)
from llmrelay.transport.body import read_body
from llmrelay.transport.http import Request, iter_sse, open_response, read_json
from llmrelay.transport.pool import get_pool
from support.proxies import HttpProxy
from support.tls import LoopbackCA, make_ca

pytestmark = pytest.mark.integration

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class RawServer:
    """A TCP server on 127.0.0.1 that plays `handler` on every connection it accepts."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.accepted = 0
        self.requests: list[bytes] = []
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    async def __aenter__(self) -> RawServer:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._server is not None
        self._server.close()
        for writer in self._writers:
            writer.close()
        await self._server.wait_closed()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        self._writers.add(writer)
        try:
            await self.handler(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass  # the client went away, or the server is stopping
        finally:
            writer.close()
            self._writers.discard(writer)

    async def read_request(self, reader: asyncio.StreamReader) -> bytes:
        head = await reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            name, _, value = line.partition(b":")
            if name.lower() == b"content-length":
                length = int(value)
        self.requests.append(head + await reader.readexactly(length))
        return head


def request(**options: Any) -> Request:
    return Request(provider="Test", max_retries=options.pop("max_retries", 0), **options)


async def get_json(url: str, req: Request | None = None) -> Any:
    req = req or request()
    async with open_response("GET", url, req) as response:
        return await read_json(response, req)


def json_reply(body: bytes, extra: bytes = b"") -> bytes:
    return (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        + extra
        + b"Content-Length: %d\r\n\r\n" % len(body)
        + body
    )


# -- pooling ---------------------------------------------------------------------------------------


async def test_sequential_requests_share_one_keep_alive_connection() -> None:
    async def keep_alive(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            await server.read_request(reader)
            writer.write(json_reply(b'{"n": %d}' % len(server.requests)))

    async with RawServer(keep_alive) as server:
        answers = [await get_json(server.url + "/v1/x") for _ in range(5)]
    assert answers == [{"n": n} for n in range(1, 6)]
    assert server.accepted == 1


async def test_a_connection_close_answer_is_not_reused() -> None:
    async def closing(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await server.read_request(reader)
        writer.write(json_reply(b"{}", b"Connection: close\r\n"))

    async with RawServer(closing) as server:
        for _ in range(3):
            assert await get_json(server.url) == {}
    assert server.accepted == 3


async def test_a_connection_the_server_closed_while_idle_is_not_used_again() -> None:
    """The server keeps the connection open in its answer, then closes it: the next request
    (no retries allowed) must go out on a new connection, not fail on the dead one."""

    async def then_close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await server.read_request(reader)
        writer.write(json_reply(b"{}"))
        await writer.drain()

    async with RawServer(then_close) as server:
        assert await get_json(server.url) == {}
        pool = await get_pool()
        idle = [c for queue in pool.idle.values() for c in queue]
        async with asyncio.timeout(5):  # the close reaches the idle connection
            while any(c.usable for c in idle):  # noqa: ASYNC110 (polls the pool, bounded)
                await asyncio.sleep(0.01)
        assert await get_json(server.url) == {}
    assert server.accepted == 2


async def test_an_abandoned_stream_closes_its_connection() -> None:
    """Leaving a stream before its end closes the connection (the server sees it go and stops
    writing); it never goes back to the pool with unread data."""
    gone = asyncio.Event()

    async def endless(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await server.read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        event = b"data: {}\n\n"
        try:
            while True:
                writer.write(b"%x\r\n%s\r\n" % (len(event), event))
                await writer.drain()
                await asyncio.sleep(0.005)
        finally:
            gone.set()

    async with RawServer(endless) as server:
        req = request()
        async with open_response("GET", server.url, req) as response:
            async for _event in iter_sse(response, req):
                break
        pool = await get_pool()
        assert not any(queue for queue in pool.idle.values())
        async with asyncio.timeout(5):
            await gone.wait()


# -- bodies ----------------------------------------------------------------------------------------


@pytest.fixture
async def compressed() -> AsyncIterator[str]:
    """/gzip, /deflate, /br: one JSON body in each encoding; /bomb: 8 MiB of gzip'd zeros;
    /sse-gzip: an event stream, gzip'd, written in two pieces; /cut-gzip: half of a gzip."""
    payload = json.dumps({"content": "x" * 5000}).encode()

    def reply(body: bytes, encoding: str, content_type: str = "application/json") -> web.Response:
        return web.Response(
            body=body, headers={"Content-Encoding": encoding, "Content-Type": content_type}
        )

    async def sse(request: web.Request) -> web.StreamResponse:
        data = gzip.compress(b"".join(b'data: {"i": %d}\n\n' % i for i in range(50)))
        response = web.StreamResponse(
            headers={"Content-Encoding": "gzip", "Content-Type": "text/event-stream"}
        )
        await response.prepare(request)
        await response.write(data[: len(data) // 2])
        await response.write(data[len(data) // 2 :])
        await response.write_eof()
        return response

    app = web.Application()
    app.router.add_get("/gzip", _serve(reply(gzip.compress(payload), "gzip")))
    app.router.add_get("/deflate", _serve(reply(zlib.compress(payload), "deflate")))
    app.router.add_get("/br", _serve(reply(b"\x0b\x02\x80{}\x03", "br")))
    app.router.add_get("/bomb", _serve(reply(gzip.compress(b"\0" * (8 << 20)), "gzip")))
    app.router.add_get("/cut-gzip", _serve(reply(gzip.compress(payload)[:-20], "gzip")))
    app.router.add_get("/sse-gzip", sse)
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        host, port = runner.addresses[0][:2]
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()


def _serve(response: web.Response) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handler(request: web.Request) -> web.Response:
        return response

    return handler


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
async def test_compressed_bodies_are_decompressed(compressed: str, encoding: str) -> None:
    assert await get_json(f"{compressed}/{encoding}") == {"content": "x" * 5000}


async def test_a_compressed_stream_is_decoded_across_its_pieces(compressed: str) -> None:
    req = request()
    async with open_response("GET", f"{compressed}/sse-gzip", req) as response:
        events = [json.loads(event.data)["i"] async for event in iter_sse(response, req)]
    assert events == list(range(50))


async def test_an_encoding_not_asked_for_is_refused(compressed: str) -> None:
    with pytest.raises(ResponseError, match="unsupported Content-Encoding 'br'"):
        await get_json(f"{compressed}/br")


async def test_a_cut_compressed_body_is_incomplete(compressed: str) -> None:
    with pytest.raises(IncompleteResponseError):
        await get_json(f"{compressed}/cut-gzip")


async def test_the_size_cap_counts_decompressed_bytes(compressed: str) -> None:
    req = request()
    with pytest.raises(ResponseTooLargeError):
        async with open_response("GET", f"{compressed}/bomb", req) as response:
            await read_body(response, req, limit=1 << 20)


async def test_a_body_that_ends_with_the_connection() -> None:
    async def http10(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await server.read_request(reader)
        writer.write(b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n")
        writer.write(b'{"whole": ')
        await writer.drain()
        writer.write(b"true}")
        writer.close()

    async with RawServer(http10) as server:
        assert await get_json(server.url) == {"whole": True}


async def test_a_slow_reader_pauses_the_socket_instead_of_buffering_the_stream() -> None:
    total, block = 64 << 20, b"z" * (256 << 10)
    sent = 0

    async def firehose(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal sent
        await server.read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % total)
        while sent < total:
            writer.write(block)
            await writer.drain()
            sent += len(block)

    async with RawServer(firehose) as server:
        req = request()
        async with open_response("GET", server.url, req) as response:
            connection = response._connection
            assert connection is not None
            async with asyncio.timeout(10):  # nothing is read: the socket must get paused
                while not connection.paused:  # noqa: ASYNC110 (polls the socket, bounded)
                    await asyncio.sleep(0.01)
            assert connection.buffered < 2 << 20
            assert sent < total  # the server is held back, not served at full speed
            received = 0
            async for piece in response.content.iter_any():
                received += len(piece)
        assert received == total


async def test_request_headers_with_line_breaks_are_never_sent() -> None:
    async def anything(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await server.read_request(reader)

    async with RawServer(anything) as server:
        req = request(headers={"X-Api-Key": "k\r\nX-Injected: 1"}, max_retries=2)
        with pytest.raises(InvalidRequestError, match="line break"):
            await get_json(server.url, req)
    assert server.accepted == 0


async def test_paths_and_queries_are_percent_encoded_where_needed() -> None:
    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await server.read_request(reader)
        line = head.split(b"\r\n", 1)[0].decode()
        writer.write(json_reply(json.dumps({"line": line}).encode()))

    async with RawServer(echo) as server:
        answer = await get_json(server.url + "/v1/models/a b:generate?alt=sse&q=é%20")
    assert answer == {"line": "GET /v1/models/a%20b:generate?alt=sse&q=%C3%A9%20 HTTP/1.1"}


async def test_a_malformed_status_line_is_a_connection_error() -> None:
    async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await server.read_request(reader)
        writer.write(b"NOT HTTP AT ALL\r\n\r\n")

    async with RawServer(garbage) as server:
        with pytest.raises(APIConnectionError, match="invalid HTTP response"):
            await get_json(server.url)


# -- TLS -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def test_ca(tmp_path_factory: pytest.TempPathFactory) -> LoopbackCA:
    return make_ca(tmp_path_factory.mktemp("tls"))


@pytest.fixture
async def https_url(test_ca: LoopbackCA) -> AsyncIterator[str]:
    async def hello(request: web.Request) -> web.Response:
        return web.json_response({"secure": request.secure})

    app = web.Application()
    app.router.add_get("/hello", hello)
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", 0, ssl_context=test_ca.server_context()).start()
        port = runner.addresses[0][1]
        yield f"https://localhost:{port}"
    finally:
        await runner.cleanup()


async def test_https_is_verified_against_the_trusted_cas(
    https_url: str, test_ca: LoopbackCA, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(test_ca.ca_file))
    assert await get_json(f"{https_url}/hello") == {"secure": True}


async def test_an_untrusted_certificate_is_refused(
    https_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: pathlib.Path
) -> None:
    other = make_ca(tmp_path)  # a CA that did not sign the server's certificate
    monkeypatch.setenv("SSL_CERT_FILE", str(other.ca_file))
    with pytest.raises(APIConnectionError, match="CERTIFICATE_VERIFY_FAILED"):
        await get_json(f"{https_url}/hello")


async def test_https_through_an_http_proxy_tunnel(
    https_url: str, test_ca: LoopbackCA, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(test_ca.ca_file))
    async with HttpProxy("alice", "pa55") as proxy:
        answer = await get_json(f"{https_url}/hello", request(proxy=proxy.url))
        again = await get_json(f"{https_url}/hello", request(proxy=proxy.url))
    assert answer == again == {"secure": True}
    port = https_url.rsplit(":", 1)[1]
    assert proxy.connections == [f"localhost:{port}"]  # one tunnel, kept alive for both


# -- uvloop (the gateway's loop under `llmrelay serve`) -------------------------------------------


def test_the_transport_runs_on_uvloop(test_ca: LoopbackCA, monkeypatch: pytest.MonkeyPatch) -> None:
    """Plain and TLS connections, a pooled one reused, a CONNECT tunnel and SOCKS, on uvloop
    (its transports are not asyncio's classes and its create_connection takes fewer options)."""
    import uvloop

    from support.proxies import Socks5Proxy

    monkeypatch.setenv("SSL_CERT_FILE", str(test_ca.ca_file))

    async def scenario() -> list[Any]:
        async def keep_alive(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            while True:
                await server.read_request(reader)
                writer.write(json_reply(b'{"plain": true}'))

        async def hello(request: web.Request) -> web.Response:
            return web.json_response({"secure": request.secure})

        app = web.Application()
        app.router.add_get("/hello", hello)
        runner = web.AppRunner(app)
        await runner.setup()
        answers: list[Any] = []
        try:
            await web.TCPSite(runner, "127.0.0.1", 0, ssl_context=test_ca.server_context()).start()
            https = f"https://localhost:{runner.addresses[0][1]}/hello"
            async with RawServer(keep_alive) as server:
                answers += [await get_json(server.url), await get_json(server.url)]
                answers.append(server.accepted)
            answers.append(await get_json(https))
            async with HttpProxy() as proxy:
                answers.append(await get_json(https, request(proxy=proxy.url)))
            async with Socks5Proxy() as socks:
                answers.append(await get_json(https, request(proxy=socks.url)))
        finally:
            await runner.cleanup()
        return answers

    secure = {"secure": True}
    assert uvloop.run(scenario()) == [{"plain": True}, {"plain": True}, 1, secure, secure, secure]
