"""The guarded media fetcher against a real server on 127.0.0.1: not fetched by default,
fetched with the operator switch; redirects re-checked hop by hop; the connection made to the
checked address only; size, decompressed-size and time caps; and the providers that use it."""

from __future__ import annotations

import asyncio
import gzip
import socket
from typing import Any

import pytest

from llmrelay.errors import InvalidMessagesError, InvalidRequestError
from llmrelay.Provider import VLLM, OpenaiTemplate
from llmrelay.transport import media_fetch
from llmrelay.transport.media_fetch import fetch
from support.fake_openai import FakeOpenAI
from support.faults import Body, FaultServer, Redirect, StallHeaders

pytestmark = pytest.mark.integration

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 32
IMAGE = Body(PNG, content_type="image/png")


async def test_a_loopback_server_is_not_fetched_by_default() -> None:
    async with FaultServer(IMAGE) as server:
        for url in (f"{server.url}/a.png", f"http://localhost:{server.port}/a.png"):
            with pytest.raises(InvalidRequestError, match=r"loopback|internal"):
                await fetch(url)
        assert server.requests == []


async def test_a_loopback_server_is_fetched_with_the_switch(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with FaultServer(IMAGE) as server:
        assert await fetch(f"{server.url}/a.png", allow_private=True) == (PNG, "image/png")
        monkeypatch.setenv("LLMRELAY_ALLOW_PRIVATE_MEDIA", "1")
        assert await fetch(f"http://127.0.0.1:{server.port}/b.png") == (PNG, "image/png")
    assert len(server.requests) == 2


async def test_redirects_are_checked_hop_by_hop(monkeypatch: pytest.MonkeyPatch) -> None:
    looked_up = _pin(monkeypatch, {"evil.test": ["0.0.0.0"]})
    async with FaultServer() as server:
        server.script(Redirect("/next"), Redirect(f"http://evil.test:{server.port}/x"))
        with pytest.raises(InvalidRequestError, match="resolves to an unspecified address"):
            await fetch(f"{server.url}/a.png", allow_private=True)
        assert [r[1] for r in server.requests] == ["/a.png", "/next"]
        assert looked_up == ["127.0.0.1", "evil.test"]
        server.script(Redirect("/next"), Redirect("http://169.254.169.254/latest/"))
        with pytest.raises(InvalidRequestError, match="metadata"):
            await fetch(f"{server.url}/a.png", allow_private=True)
        server.script(Redirect("/next"), Redirect("/next"), IMAGE)
        assert await fetch(f"{server.url}/a.png", allow_private=True) == (PNG, "image/png")


async def test_redirect_loops_are_bounded() -> None:
    async with FaultServer(Redirect("/again")) as server:
        with pytest.raises(InvalidRequestError, match="redirects"):
            await fetch(f"{server.url}/a.png", allow_private=True)
    assert len(server.requests) == media_fetch.MAX_REDIRECTS + 1


def _pin(monkeypatch: pytest.MonkeyPatch, answers: dict[str, list[str]]) -> list[str]:
    """Make getaddrinfo answer `answers` for test names; record every name looked up."""
    looked_up: list[str] = []
    real = asyncio.get_running_loop().getaddrinfo

    async def getaddrinfo(host: Any, port: Any, **kwargs: Any) -> Any:
        looked_up.append(host)
        if host in answers:
            return [
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))
                for address in answers[host]
            ]
        return await real(host, port, **kwargs)

    monkeypatch.setattr(asyncio.get_running_loop(), "getaddrinfo", getaddrinfo)
    return looked_up


async def test_the_connection_goes_to_the_checked_address_resolved_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    looked_up = _pin(monkeypatch, {"images.test": ["127.0.0.1"]})
    async with FaultServer(IMAGE) as server:
        url = f"http://images.test:{server.port}/a.png"
        assert await fetch(url, allow_private=True) == (PNG, "image/png")
    assert looked_up == ["images.test"]  # aiohttp did no lookup of its own
    assert server.requests[0][2]["Host"] == f"images.test:{server.port}"


async def test_a_name_with_any_internal_address_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _pin(monkeypatch, {"rebind.test": ["93.184.216.34", "127.0.0.1"]})
    async with FaultServer(IMAGE) as server:
        with pytest.raises(InvalidRequestError, match="resolves to a loopback"):
            await fetch(f"http://rebind.test:{server.port}/a.png")
    assert server.requests == []


async def test_size_cap() -> None:
    async with FaultServer(Body(b"x" * 4096, content_type="image/png")) as server:
        with pytest.raises(InvalidRequestError, match="larger than 1024 bytes"):
            await fetch(server.url, allow_private=True, max_bytes=1024)


async def test_decompressed_size_cap() -> None:
    bomb = gzip.compress(b"\0" * (8 << 20))  # 8 MiB of zeros in ~8 KiB
    headers = {"Content-Encoding": "gzip"}
    async with FaultServer(Body(bomb, headers=headers, content_type="image/png")) as server:
        with pytest.raises(InvalidRequestError, match="larger than"):
            await fetch(server.url, allow_private=True, max_bytes=1 << 20)
        small = gzip.compress(PNG)
        server.script(Body(small, headers=headers, content_type="image/png"))
        assert await fetch(server.url, allow_private=True) == (PNG, "image/png")


async def test_time_cap() -> None:
    async with FaultServer(StallHeaders(max_seconds=5)) as server:
        with pytest.raises(InvalidRequestError, match=r"did not answer within 0\.3 s"):
            await fetch(server.url, allow_private=True, timeout=0.3)


async def test_error_statuses_are_refused() -> None:
    async with FaultServer(Body(b"nope", 404)) as server:
        with pytest.raises(InvalidRequestError, match="HTTP 404"):
            await fetch(server.url, allow_private=True)


# -- the providers -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "javascript:alert(1)", "http://169.254.169.254/x.png"]
)
async def test_bad_image_parts_never_reach_a_provider(url: str) -> None:
    part = {"type": "image_url", "image_url": {"url": url}}
    async with FakeOpenAI() as fake:
        create = OpenaiTemplate.get_async_create_function()
        with pytest.raises(InvalidMessagesError):
            await create(
                "m", [{"role": "user", "content": [part]}], api_base=fake.base_url
            ).__anext__()
    assert fake.requests == []


async def test_a_local_server_preset_gets_bytes_not_urls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLMRELAY_ALLOW_PRIVATE_MEDIA", "1")
    async with FaultServer(IMAGE) as images, FakeOpenAI() as fake:
        part = {"type": "image_url", "image_url": {"url": f"{images.url}/a.png"}}
        chunks = [
            c
            async for c in VLLM.get_async_create_function()(
                "m",
                [{"role": "user", "content": [part]}],
                api_base=fake.base_url,
                media=[f"{images.url}/b.png"],
            )
        ]
    assert chunks
    [message] = fake.requests[0].body["messages"]
    urls = [p["image_url"]["url"] for p in message["content"] if p["type"] == "image_url"]
    assert len(urls) == 2
    assert all(u.startswith("data:image/png;base64,") for u in urls)


async def test_a_local_server_preset_refuses_private_urls_by_default() -> None:
    async with FaultServer(IMAGE) as images, FakeOpenAI() as fake:
        with pytest.raises(InvalidRequestError):
            await VLLM.get_async_create_function()(
                "m", [{"role": "user", "content": "hi"}], api_base=fake.base_url,
                media=[f"{images.url}/b.png"],
            ).__anext__()  # fmt: skip
    assert images.requests == []
    assert fake.requests == []
