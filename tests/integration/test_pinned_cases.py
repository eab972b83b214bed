"""Behaviours the suite held without pinning (issue 12: removing each went unnoticed): the
transport's cut-mid-event check, Retry-After in each form, the backoff, the deadline check
before a retry, the connect timeout and the 16 MiB event cap. Each test here fails when its
behaviour is removed."""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest

from llmrelay.errors import (
    ConnectTimeoutError,
    IncompleteResponseError,
    RateLimitError,
    ResponseTooLargeError,
)
from llmrelay.Provider import OpenaiTemplate
from llmrelay.transport.http import MAX_EVENT_BYTES, Timeouts
from support.faults import OPENAI_HEAD, Body, FaultServer, retry_status

pytestmark = pytest.mark.integration

MESSAGES = [{"role": "user", "content": "hi"}]
OK = Body(OPENAI_HEAD + b"data: [DONE]\n\n")


async def ask(url: str, **params: Any) -> str:
    create = OpenaiTemplate.get_async_create_function()
    params = {"api_base": url + "/v1", "max_retries": 0, **params}
    return "".join(
        c for c in [c async for c in create("m", MESSAGES, **params)] if isinstance(c, str)
    )


async def test_a_stream_cut_in_the_middle_of_an_event_says_so() -> None:
    async with FaultServer(Body(OPENAI_HEAD + b'data: {"choices": [')) as server:
        with pytest.raises(IncompleteResponseError, match="middle of an event"):
            await ask(server.url)


@pytest.mark.parametrize(("form", "seconds"), [("seconds", 1.0), ("ms", 1.0), ("date", 2.0)])
async def test_retry_after_is_waited_for_in_each_form(form: Any, seconds: float) -> None:
    """Longer than any first backoff (≤ 0.5 s): only honouring Retry-After waits this long."""
    async with FaultServer() as server:
        server.script(retry_status(429, form, seconds), OK)
        start = time.monotonic()
        assert await ask(server.url, max_retries=1) == "Hello"
        waited = time.monotonic() - start
    assert waited >= 0.95
    assert len(server.requests) == 2


async def test_retries_back_off() -> None:
    """Two retries without Retry-After wait at least 0.375 + 0.75 s (jittered backoff)."""
    async with FaultServer() as server:
        busy = Body(b'{"error": {"message": "busy"}}', 503, content_type="application/json")
        server.script(busy, busy, OK)
        start = time.monotonic()
        assert await ask(server.url, max_retries=2) == "Hello"
        waited = time.monotonic() - start
    assert waited >= 1.1
    assert len(server.requests) == 3


async def test_no_retry_when_the_wait_would_pass_the_deadline() -> None:
    """Retry-After 5 s under a 1 s total: the rate-limit error at once, not a sleep then a
    timeout."""
    async with FaultServer(retry_status(429, "seconds", 5)) as server:
        start = time.monotonic()
        with pytest.raises(RateLimitError) as info:
            await ask(server.url, max_retries=3, timeout=1)
        assert time.monotonic() - start < 0.9
    assert info.value.retry_after == 5
    assert len(server.requests) == 1


@pytest.fixture
def unanswered_port() -> Iterator[int]:
    """A port whose listener never accepts and whose queue is full: connects hang (SYNs are
    dropped), on loopback."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(4):
        filler = socket.socket()
        filler.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            filler.connect(("127.0.0.1", port))
        fillers.append(filler)
    try:
        yield port
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


async def test_the_connect_timeout_fires(unanswered_port: int) -> None:
    start = time.monotonic()
    with pytest.raises(ConnectTimeoutError):
        await ask(
            f"http://127.0.0.1:{unanswered_port}",
            timeout=Timeouts(connect=0.3, idle=20, total=20),
        )
    assert time.monotonic() - start < 5


async def test_the_event_cap_is_16_mib() -> None:
    assert MAX_EVENT_BYTES == 16 << 20
    async with FaultServer() as server:
        pad = b"x" * (MAX_EVENT_BYTES - 200)
        chunk = b'data: {"choices": [{"index": 0, "delta": {"content": "' + pad + b'"}}]}\n\n'
        server.script(Body(chunk + b"data: [DONE]\n\n"))
        assert len(await ask(server.url)) == len(pad)
        server.script(Body(b"data: " + b"x" * (MAX_EVENT_BYTES + 1) + b"\n\n"))
        with pytest.raises(ResponseTooLargeError):
            await ask(server.url)
