"""Streams that never lie, and load: client disconnects cancel the upstream at once, no
failover after the first byte, the in-flight limit queues then refuses, shutdown lets streams
finish up to its deadline."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import AsyncIterator
from typing import Any, ClassVar

import httpx
import pytest

from gateway.conftest import GATEWAY_KEY, Stack, stack_config
from llmrelay.providers.base_provider import AsyncGeneratorProvider
from llmrelay.providers.response import FinishReason
from support.fake_openai import CutStream, Many, Stall, Status
from support.gateway import serve_gateway

pytestmark = pytest.mark.integration

MESSAGES: list[Any] = [{"role": "user", "content": "hi"}]
AUTH = {"Authorization": f"Bearer {GATEWAY_KEY}"}
BOUND = 1.0  # seconds within which the upstream must see a cancellation


def _open(url: str, body: dict[str, Any]) -> socket.socket:
    """Send a chat request on a raw socket (to be closed mid-answer)."""
    host, port = url.removeprefix("http://").split(":")
    data = json.dumps(body).encode()
    sock = socket.create_connection((host, int(port)), timeout=5)
    sock.sendall(
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: "
        b"application/json\r\nAuthorization: Bearer "
        + GATEWAY_KEY.encode()
        + b"\r\nContent-Length: "
        + str(len(data)).encode()
        + b"\r\n\r\n"
        + data
    )
    return sock


def test_disconnect_mid_stream_cancels_the_upstream(fresh: Stack) -> None:
    fresh.openai.script(Stall("body", chunks=2))
    before = fresh.openai.disconnects.value
    sock = _open(fresh.url, {"model": "gpt-4o-mini", "messages": MESSAGES, "stream": True})
    received = b""
    while b'"content":"t0"' not in received:
        received += sock.recv(65536)
    started = time.monotonic()
    sock.close()
    fresh.openai.disconnects.wait(before + 1, timeout=BOUND)
    assert time.monotonic() - started < BOUND
    _settled(fresh)


@pytest.mark.parametrize("stream", [False, True])
def test_disconnect_before_the_answer_cancels_the_upstream(fresh: Stack, stream: bool) -> None:
    fresh.openai.script(Stall("headers"))
    before = fresh.openai.disconnects.value
    received = fresh.openai.received.value
    sock = _open(fresh.url, {"model": "gpt-4o-mini", "messages": MESSAGES, "stream": stream})
    fresh.openai.received.wait(received + 1)
    sock.close()
    fresh.openai.disconnects.wait(before + 1, timeout=BOUND)
    _settled(fresh)


def _settled(stack: Stack) -> None:
    deadline = time.monotonic() + BOUND
    while stack.gateway.app.limit.in_flight and time.monotonic() < deadline:
        time.sleep(0.01)
    assert stack.gateway.app.limit.in_flight == 0
    assert stack.gateway.app.metrics.disconnects >= 1


def test_failover_only_before_the_first_byte(fresh: Stack) -> None:
    fresh.openai.script(Status(500))
    response = httpx.post(
        f"{fresh.url}/v1/chat/completions",
        headers=AUTH,
        json={"model": "twins", "messages": MESSAGES, "stream": True},
    )
    assert response.text.endswith("data: [DONE]\n\n")
    assert len(fresh.openai.requests) == 2  # the first twin failed, the second answered
    fresh.openai.requests.clear()
    fresh.openai.script(CutStream(chunks=3))
    response = httpx.post(
        f"{fresh.url}/v1/chat/completions",
        headers=AUTH,
        json={"model": "twins", "messages": MESSAGES, "stream": True},
    )
    assert '"content":"t0"' in response.text
    assert '"error"' in response.text
    assert "[DONE]" not in response.text
    assert len(fresh.openai.requests) == 1  # no second provider after the first byte


def test_every_provider_failing_keeps_a_shared_status(fresh: Stack) -> None:
    fresh.openai.script(
        Status(429, headers={"retry-after": "2"}), Status(429, headers={"retry-after": "4"})
    )
    response = httpx.post(
        f"{fresh.url}/v1/chat/completions",
        headers=AUTH,
        json={"model": "twins", "messages": MESSAGES},
    )
    assert response.status_code == 429
    assert response.headers["retry-after"] == "2"


def test_in_flight_limit_queues_then_refuses(stack: Stack) -> None:
    stack.openai._queue.clear()
    config = stack_config(stack.openai.base_url, max_inflight=1, queue_timeout=0.3)
    with serve_gateway(config) as gateway:
        stack.openai.script(Stall("headers", max_seconds=1.5))
        body = {"model": "gpt-4o-mini", "messages": MESSAGES}
        results: list[int] = []
        first = threading.Thread(
            target=lambda: results.append(
                httpx.post(
                    f"{gateway.url}/v1/chat/completions", json=body, headers=AUTH, timeout=10
                ).status_code
            )
        )
        received = stack.openai.received.value
        first.start()
        stack.openai.received.wait(received + 1)
        refused = httpx.post(f"{gateway.url}/v1/chat/completions", json=body, headers=AUTH)
        assert refused.status_code == 503
        assert refused.headers["retry-after"] == "1"
        first.join(10)
        assert results == [502]  # the stall ended with a dropped connection
        assert gateway.app.metrics.rejected == 1
        assert gateway.app.limit.in_flight == 0
        ok = httpx.post(f"{gateway.url}/v1/chat/completions", json=body, headers=AUTH)
        assert ok.status_code == 200
    stack.openai._queue.clear()


def test_in_flight_limit_serves_the_queue_in_turn(stack: Stack) -> None:
    stack.openai._queue.clear()
    config = stack_config(stack.openai.base_url, max_inflight=1, queue_timeout=5.0)
    with serve_gateway(config) as gateway:
        stack.openai.script(Stall("headers", max_seconds=0.3))
        body = {"model": "gpt-4o-mini", "messages": MESSAGES}
        results: list[int] = []
        first = threading.Thread(
            target=lambda: results.append(
                httpx.post(
                    f"{gateway.url}/v1/chat/completions", json=body, headers=AUTH, timeout=10
                ).status_code
            )
        )
        received = stack.openai.received.value
        first.start()
        stack.openai.received.wait(received + 1)
        queued = httpx.post(f"{gateway.url}/v1/chat/completions", json=body, headers=AUTH)
        first.join(10)
        assert queued.status_code == 200
        assert results == [502]


class Slow(AsyncGeneratorProvider):
    """Three words, a pause before each."""

    working = True
    pause: ClassVar[float] = 0.3

    @classmethod
    async def create_async_generator(  # type: ignore[override]
        cls, model: str, messages: Any, stream: bool = True
    ) -> AsyncIterator[Any]:
        for word in ("one", " two", " three"):
            await asyncio.sleep(cls.pause)
            yield word
        yield FinishReason("stop")


class Stuck(Slow):
    pause: ClassVar[float] = 30.0


def _stream_in_thread(url: str, model: str, out: list[str]) -> threading.Thread:
    def run() -> None:
        try:
            with httpx.stream(
                "POST",
                f"{url}/v1/chat/completions",
                headers=AUTH,
                timeout=20,
                json={"model": model, "messages": MESSAGES, "stream": True, "provider": model},
            ) as response:
                out.extend(response.iter_text())
        except httpx.HTTPError as exc:
            out.append(f"<{type(exc).__name__}>")

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_shutdown_lets_streams_finish_then_cuts_them_at_the_deadline(stack: Stack) -> None:
    with serve_gateway(stack_config(stack.openai.base_url), shutdown_timeout=3.0) as gateway:
        gateway.app.router.upstreams.update(Slow=Slow, Stuck=Stuck)
        finished: list[str] = []
        stuck: list[str] = []
        threads = [
            _stream_in_thread(gateway.url, "Slow", finished),
            _stream_in_thread(gateway.url, "Stuck", stuck),
        ]
        deadline = time.monotonic() + 5
        while gateway.app.limit.in_flight < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        gateway.server.should_exit = True  # as on SIGTERM
        for thread in threads:
            thread.join(15)
    text = "".join(finished)
    assert '"content":" three"' in text
    assert text.endswith("data: [DONE]\n\n")
    assert "[DONE]" not in "".join(stuck)  # cut at the deadline, not finished with a lie
    assert '"finish_reason":"stop"' not in "".join(stuck)


def test_many_streams_at_once(fresh: Stack) -> None:
    async def one(client: httpx.AsyncClient) -> str:
        response = await client.post(
            "/v1/chat/completions",
            headers=AUTH,
            json={"model": "gpt-4o-mini", "messages": MESSAGES, "stream": True},
        )
        return response.text

    async def all_of_them() -> list[str]:
        async with httpx.AsyncClient(base_url=fresh.url, timeout=20) as client:
            return await asyncio.gather(*(one(client) for _ in range(20)))

    fresh.openai.default = Many(50)
    try:
        texts = asyncio.run(all_of_them())
    finally:
        from support.fake_openai import Reply

        fresh.openai.default = Reply()
    for text in texts:
        assert text.count('"content":') == 50
        assert text.endswith("data: [DONE]\n\n")
