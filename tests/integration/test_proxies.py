"""Requests really go through HTTP and SOCKS5 proxies (credentials included), and a proxy that
refuses us or is not there gives a clear llmrelay error that never shows the proxy password.

Everything runs on 127.0.0.1: an inline OpenAI-compatible upstream (`aiohttp.web`) and the
stdlib proxies of `support.proxies`.
"""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import json
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web

from llmrelay.errors import APIConnectionError, InvalidRequestError, ProxyError
from llmrelay.Provider import OpenaiTemplate
from support.proxies import HttpProxy, Socks5Proxy
from support.secrets import assert_masked

pytestmark = pytest.mark.integration

MESSAGES = [{"role": "user", "content": "hi"}]
USER = "alice"
PASSWORD = "s3cret-Pa55word"
WRONG_PASSWORD = "wr0ng-Pa55word"


# -- the upstream --------------------------------------------------------------------------------


@dataclass
class Upstream:
    """An OpenAI-compatible server: `url` is its API base, `hits` the models it was asked for."""

    url: str
    hostport: str
    hits: list[str] = field(default_factory=list)


def _chunk(model: str, delta: dict[str, str], finish_reason: str | None) -> dict[str, Any]:
    choice = {"index": 0, "delta": delta, "finish_reason": finish_reason}
    return {
        "id": "x",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": model,
        "choices": [choice],
    }


@pytest.fixture
async def upstream() -> AsyncIterator[Upstream]:
    """`POST /v1/chat/completions` answering "via proxy", as JSON or as SSE when streaming."""
    hits: list[str] = []

    async def chat(request: web.Request) -> web.StreamResponse:
        body = await request.json()
        model = body["model"]
        hits.append(model)
        if not body.get("stream"):
            message = {"role": "assistant", "content": "via proxy"}
            choice = {"index": 0, "message": message, "finish_reason": "stop"}
            return web.json_response(
                {
                    "id": "x",
                    "object": "chat.completion",
                    "created": 0,
                    "model": model,
                    "choices": [choice],
                }
            )
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        deltas: list[tuple[dict[str, str], str | None]] = [
            ({"content": "via"}, None),
            ({"content": " proxy"}, None),
            ({}, "stop"),
        ]
        for delta, finish_reason in deltas:
            chunk = _chunk(model, delta, finish_reason)
            await response.write(f"data: {json.dumps(chunk)}\n\n".encode())
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response

    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat)
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        host, port = runner.addresses[0][:2]
        yield Upstream(f"http://{host}:{port}/v1", f"{host}:{port}", hits)
    finally:
        await runner.cleanup()


@pytest.fixture
def dead_port() -> Iterator[int]:
    """A loopback port that refuses connections (bound but never listening, so it stays ours)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


# -- helpers -------------------------------------------------------------------------------------


async def ask(proxy: str, api_base: str, *, stream: bool = False) -> str:
    """The answer's text, asked through `proxy` without retries."""
    chunks = [
        chunk
        async for chunk in OpenaiTemplate.create_async_generator(
            "m", MESSAGES, stream=stream, api_base=api_base, proxy=proxy, max_retries=0, timeout=10
        )
    ]
    return "".join(chunk for chunk in chunks if isinstance(chunk, str))


async def failure(proxy: str, api_base: str) -> Exception:
    """The exception that asking through `proxy` raises."""
    try:
        answer = await ask(proxy, api_base)
    except Exception as exc:
        return exc
    pytest.fail(f"expected a failure, got an answer: {answer!r}")


def assert_hidden(error: BaseException, password: str) -> None:
    """Neither the password nor its Basic-auth encoding shows in the error's str, repr or
    rendered traceback (chained exceptions included)."""
    encoded = base64.b64encode(f"{USER}:{password}".encode()).decode()
    assert_masked(error, [password, encoded])


def with_password(url: str, password: str) -> str:
    return url.replace(f":{PASSWORD}@", f":{password}@")


# -- HTTP proxy ----------------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
async def test_http_proxy_forwards_request(upstream: Upstream, stream: bool) -> None:
    async with HttpProxy() as proxy:
        assert await ask(proxy.url, upstream.url, stream=stream) == "via proxy"
    assert proxy.connections == [upstream.hostport]
    assert upstream.hits == ["m"]


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
async def test_http_proxy_with_credentials_in_url(upstream: Upstream, stream: bool) -> None:
    async with HttpProxy(USER, PASSWORD) as proxy:
        assert proxy.url.startswith(f"http://{USER}:{PASSWORD}@")
        assert await ask(proxy.url, upstream.url, stream=stream) == "via proxy"
    # aiohttp turned the URL's user:password into Proxy-Authorization: the proxy accepted it.
    assert proxy.auth_failures == 0
    assert proxy.connections == [upstream.hostport]


async def test_http_proxy_wrong_password(upstream: Upstream) -> None:
    async with HttpProxy(USER, PASSWORD) as proxy:
        error = await failure(with_password(proxy.url, WRONG_PASSWORD), upstream.url)
    # For an http:// target the 407 is the proxy's answer to the request itself.
    assert isinstance(error, ProxyError)
    assert error.status_code == 407
    assert "Proxy Authentication Required" in str(error)
    assert_hidden(error, WRONG_PASSWORD)
    assert (proxy.auth_failures, proxy.connections, upstream.hits) == (1, [], [])


async def test_http_proxy_wrong_password_for_https_target(upstream: Upstream) -> None:
    """https:// targets are tunnelled with CONNECT; the 407 comes before any TLS, so a plain
    upstream is enough."""
    https_base = upstream.url.replace("http://", "https://")
    async with HttpProxy(USER, PASSWORD) as proxy:
        error = await failure(with_password(proxy.url, WRONG_PASSWORD), https_base)
    assert isinstance(error, ProxyError)  # not retried: the password will not get better
    assert error.status_code == 407
    assert "407" in str(error)
    assert (proxy.auth_failures, proxy.connections) == (1, [])
    assert_hidden(error, WRONG_PASSWORD)


async def test_sync_create_completion_through_http_proxy(upstream: Upstream) -> None:
    def ask_sync(proxy: str) -> list[Any]:
        return list(
            OpenaiTemplate.create_completion(
                "m", MESSAGES, stream=False, api_base=upstream.url, proxy=proxy, max_retries=0
            )
        )

    async with HttpProxy(USER, PASSWORD) as proxy:
        # The sync API blocks its thread, so it runs in a worker while this loop serves.
        chunks = await asyncio.to_thread(ask_sync, proxy.url)
    assert "".join(c for c in chunks if isinstance(c, str)) == "via proxy"
    assert proxy.connections == [upstream.hostport]


# -- SOCKS5 proxy --------------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize("credentials", [(None, None), (USER, PASSWORD)], ids=["noauth", "auth"])
async def test_socks5_proxy_forwards_request(
    upstream: Upstream, stream: bool, credentials: tuple[str | None, str | None]
) -> None:
    async with Socks5Proxy(*credentials) as proxy:
        assert proxy.url.startswith("socks5://")
        assert await ask(proxy.url, upstream.url, stream=stream) == "via proxy"
    assert proxy.connections == [upstream.hostport]
    assert proxy.auth_failures == 0
    assert upstream.hits == ["m"]


async def test_socks5_wrong_password_does_not_show_it(upstream: Upstream) -> None:
    async with Socks5Proxy(USER, PASSWORD) as proxy:
        error = await failure(with_password(proxy.url, WRONG_PASSWORD), upstream.url)
    assert "authentication" in str(error).lower()
    assert_hidden(error, WRONG_PASSWORD)
    assert (proxy.auth_failures, proxy.connections, upstream.hits) == (1, [], [])


async def test_socks5_wrong_password_is_an_llmrelay_error(upstream: Upstream) -> None:
    async with Socks5Proxy(USER, PASSWORD) as proxy:
        error = await failure(with_password(proxy.url, WRONG_PASSWORD), upstream.url)
    assert isinstance(error, ProxyError)
    assert proxy.auth_failures == 1  # not retried


# -- bad proxies ---------------------------------------------------------------------------------


async def test_unsupported_scheme_fails_before_connecting(upstream: Upstream) -> None:
    async with HttpProxy(USER, PASSWORD) as proxy:
        ftp = proxy.url.replace("http://", "ftp://")
        with pytest.raises(InvalidRequestError, match="unsupported proxy scheme 'ftp'") as info:
            await ask(ftp, upstream.url)
    assert_hidden(info.value, PASSWORD)
    assert (proxy.accepted, upstream.hits) == (0, [])


@pytest.mark.parametrize("scheme", ["http", "socks5"])
async def test_dead_proxy_is_a_connection_error(
    upstream: Upstream, dead_port: int, scheme: str
) -> None:
    error = await failure(f"{scheme}://{USER}:{PASSWORD}@127.0.0.1:{dead_port}", upstream.url)
    assert_hidden(error, PASSWORD)
    assert str(dead_port) in str(error)
    assert upstream.hits == []
    assert isinstance(error, APIConnectionError)


@pytest.mark.parametrize("scheme", ["http", "socks5"])
async def test_malformed_proxy_url(upstream: Upstream, scheme: str) -> None:
    error = await failure(f"{scheme}://{USER}:{PASSWORD}@127.0.0.1:notaport", upstream.url)
    assert isinstance(error, InvalidRequestError)
    assert_hidden(error, PASSWORD)


async def test_socks5h_proxy(upstream: Upstream) -> None:
    async with Socks5Proxy(USER, PASSWORD) as proxy:
        answer = await ask(proxy.url.replace("socks5://", "socks5h://"), upstream.url)
    assert answer == "via proxy"


# -- the proxies themselves (paths llmrelay does not take over plain http) -----------------------


async def _connect(port: int, target: str, headers: str = "") -> bytes:
    """Send `CONNECT target` to the HTTP proxy on `port`: its status line if it refuses, else
    the whole answer to a request sent through the tunnel."""
    body = b'{"model":"t"}'
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n{headers}\r\n".encode())
        head = await reader.readuntil(b"\r\n\r\n")
        if b" 200 " not in head:
            return head.split(b"\r\n", 1)[0]
        writer.write(
            f"POST /v1/chat/completions HTTP/1.1\r\nHost: {target}\r\nConnection: close\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        return await reader.read()
    finally:
        writer.close()
        await writer.wait_closed()


async def test_http_proxy_connect_tunnel(upstream: Upstream) -> None:
    token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    async with HttpProxy(USER, PASSWORD) as proxy:
        refused = await _connect(proxy.port, upstream.hostport)
        tunnelled = await _connect(
            proxy.port, upstream.hostport, f"Proxy-Authorization: Basic {token}\r\n"
        )
    assert refused == b"HTTP/1.1 407 Proxy Authentication Required"
    assert b"via proxy" in tunnelled
    assert (proxy.auth_failures, proxy.connections) == (1, [upstream.hostport])
    assert upstream.hits == ["t"]


def _socks_request(address: str, port: int, command: int = 1) -> bytes:
    """A SOCKS5 request (CONNECT by default) for an IPv4/IPv6 literal or a domain name."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        kind, packed = 3, bytes([len(address)]) + address.encode()
    else:
        kind, packed = (1 if ip.version == 4 else 4), ip.packed
    return bytes([5, command, 0, kind]) + packed + port.to_bytes(2, "big")


async def _socks(port: int, request: bytes, password: str = PASSWORD) -> int:
    """Log in to the SOCKS5 proxy on `port` and send `request`: the reply code, or the
    username/password status if login fails."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(b"\x05\x01\x02")
        assert await reader.readexactly(2) == b"\x05\x02"
        user, secret = USER.encode(), password.encode()
        writer.write(bytes([1, len(user)]) + user + bytes([len(secret)]) + secret)
        _, status = await reader.readexactly(2)
        if status:
            return status
        writer.write(request)
        _, code, _, kind = await reader.readexactly(4)
        await reader.readexactly((4 if kind == 1 else 16) + 2)  # the bound address
        return code
    finally:
        writer.close()
        await writer.wait_closed()


async def test_socks5_address_types_and_reply_codes(upstream: Upstream, dead_port: int) -> None:
    upstream_port = int(upstream.hostport.rsplit(":", 1)[1])
    async with Socks5Proxy(USER, PASSWORD) as proxy:
        assert await _socks(proxy.port, _socks_request("localhost", upstream_port)) == 0x00
        assert await _socks(proxy.port, _socks_request("127.0.0.1", dead_port)) == 0x05
        bind = _socks_request("127.0.0.1", upstream_port, command=2)
        assert await _socks(proxy.port, bind) == 0x07
        assert await _socks(proxy.port, b"", password=WRONG_PASSWORD) == 0x01
    assert proxy.connections == [f"localhost:{upstream_port}"]
    assert proxy.auth_failures == 1


async def test_socks5_ipv6_address() -> None:
    with socket.socket(socket.AF_INET6) as dead:
        try:
            dead.bind(("::1", 0))
        except OSError:
            pytest.skip("no IPv6 loopback")
        async with Socks5Proxy(USER, PASSWORD) as proxy:
            request = _socks_request("::1", dead.getsockname()[1])
            assert await _socks(proxy.port, request) == 0x05  # parsed, tried, refused
