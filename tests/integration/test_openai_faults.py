"""The OpenAI-compatible provider against a fake upstream that misbehaves on purpose
(shared/TARGETS.md, reliability items 1-5, 7, 8): cut streams, in-stream errors, stalls,
retries and Retry-After, cancellation reaching the upstream, and no leaked sockets or tasks."""

from __future__ import annotations

import asyncio
import email.utils
import os
import time
from typing import Any

import pytest

from llmrelay.client import Client
from llmrelay.errors import (
    APIConnectionError,
    BadRequestError,
    IdleTimeoutError,
    IncompleteResponseError,
    MissingAuthError,
    RateLimitError,
    ResponseError,
    ResponseStatusError,
    TotalTimeoutError,
)
from llmrelay.Provider import OpenaiTemplate
from llmrelay.providers.response import (
    FinishReason,
    Reasoning,
    ToolCalls,
    Usage,
    concat_chunks,
)
from llmrelay.transport.http import Timeouts
from support.fake_openai import (
    CutStream,
    FakeOpenAI,
    Many,
    Reply,
    Stall,
    Status,
    StreamThenError,
    ToolCall,
    Trickle,
    error_body,
)

pytestmark = pytest.mark.integration

MESSAGES = [{"role": "user", "content": "hi"}]


async def ask(fake: FakeOpenAI, **params: Any) -> list[Any]:
    params = {"api_base": fake.base_url, "api_key": "sk-test", **params}
    return [c async for c in OpenaiTemplate.get_async_create_function()("m", MESSAGES, **params)]


# -- the normal wire format ------------------------------------------------------------------


async def test_stream_with_reasoning_tools_and_usage() -> None:
    async with FakeOpenAI() as fake:
        fake.script(
            Reply(
                content="Let me check.",
                reasoning="The user wants weather.",
                tool_calls=(ToolCall("get_weather", '{"city": "Paris"}'),),
            )
        )
        chunks = await ask(fake, tools=[{"type": "function", "function": {"name": "get_weather"}}])
    assert concat_chunks(chunks) == "Let me check."
    assert "".join(c.token for c in chunks if isinstance(c, Reasoning)) == (
        "The user wants weather."
    )
    calls = next(c for c in chunks if isinstance(c, ToolCalls)).get_list()
    assert calls == [
        {
            "id": "call_0",
            "type": "function",
            "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
        }
    ]
    assert FinishReason("tool_calls") in chunks
    assert isinstance(chunks[-1], Usage)
    sent = fake.requests[-1]
    assert sent.body["stream_options"] == {"include_usage": True}
    assert sent.headers["authorization"] == "Bearer sk-test"


async def test_non_streaming_answer() -> None:
    async with FakeOpenAI() as fake:
        chunks = await ask(fake, stream=False, seed=4, temperature=0.1, max_tokens=9, stop="x")
    assert concat_chunks(chunks) == "Hello world"
    body = fake.requests[-1].body
    assert {k: body[k] for k in ("seed", "temperature", "max_tokens", "stop")} == {
        "seed": 4,
        "temperature": 0.1,
        "max_tokens": 9,
        "stop": "x",
    }
    assert "stream" not in body


# -- 1. a cut stream is an error, never a short answer ----------------------------------------


@pytest.mark.parametrize("stream", [True, False])
async def test_cut_stream_raises(stream: bool) -> None:
    async with FakeOpenAI() as fake:
        fake.script(CutStream(chunks=3))
        with pytest.raises(IncompleteResponseError):
            await ask(fake, stream=stream, max_retries=0)
        assert len(fake.requests) == 1  # the caller may have had data: no retry


# -- 2. an error inside a 200 stream is raised ----------------------------------------------


async def test_error_event_inside_a_stream_raises() -> None:
    async with FakeOpenAI() as fake:
        fake.script(StreamThenError(chunks=3, error={"message": "model crashed", "type": "x"}))
        seen: list[Any] = []

        async def consume() -> None:
            async for chunk in OpenaiTemplate.create_async_generator(
                "m", MESSAGES, api_base=fake.base_url
            ):
                seen.append(chunk)

        with pytest.raises(ResponseError, match="model crashed"):
            await consume()
    assert concat_chunks(seen)  # what came before the error was delivered, then it raised


# -- 3. stalls: the idle and total deadlines fire ------------------------------------------


async def test_no_headers_fires_the_idle_timeout() -> None:
    async with FakeOpenAI() as fake:
        fake.script(Stall("headers"))
        timeouts = Timeouts(connect=1, idle=0.3, total=5)
        start = time.monotonic()
        with pytest.raises(IdleTimeoutError, match="OpenaiTemplate"):
            await ask(fake, timeout=timeouts, max_retries=0)
        assert time.monotonic() - start < 3
        await fake.disconnects.wait_async(1)  # the upstream saw us leave


async def test_headers_then_silence_fires_the_idle_timeout() -> None:
    async with FakeOpenAI() as fake:
        fake.script(Stall("body", chunks=2))
        with pytest.raises(IdleTimeoutError):
            await ask(fake, timeout=Timeouts(connect=1, idle=0.3, total=5), max_retries=0)


async def test_trickle_under_the_idle_timeout_fires_the_total_deadline() -> None:
    async with FakeOpenAI() as fake:
        fake.script(Trickle(interval=0.05))
        start = time.monotonic()
        with pytest.raises(TotalTimeoutError):
            await ask(fake, timeout=Timeouts(connect=1, idle=0.3, total=0.8), max_retries=0)
        assert time.monotonic() - start < 3
        await fake.disconnects.wait_async(1)


# -- 4. retries: which, when, how long ------------------------------------------------------


@pytest.mark.parametrize("status", [408, 409, 429, 500, 502, 503])
async def test_retryable_statuses_are_retried(status: int) -> None:
    async with FakeOpenAI() as fake:
        fake.script(Status(status, headers={"retry-after-ms": "10"}), Reply("second try"))
        assert concat_chunks(await ask(fake)) == "second try"
        assert len(fake.requests) == 2


@pytest.mark.parametrize(
    ("status", "error"),
    [(400, BadRequestError), (401, MissingAuthError), (404, ResponseStatusError)],
)
async def test_client_errors_are_not_retried(status: int, error: type) -> None:
    async with FakeOpenAI() as fake:
        fake.script(Status(status, body=error_body(f"refused {status}")))
        with pytest.raises(error, match=f"refused {status}") as info:
            await ask(fake)
        assert info.value.status_code == status
        assert len(fake.requests) == 1


async def test_retries_are_bounded() -> None:
    async with FakeOpenAI() as fake:
        fake.script(*[Status(503, headers={"retry-after-ms": "5"})] * 5)
        with pytest.raises(ResponseStatusError) as info:
            await ask(fake, max_retries=2)
        assert info.value.status_code == 503
        assert len(fake.requests) == 3


@pytest.mark.parametrize(
    "headers",
    [
        {"retry-after": "0.2"},
        {"retry-after-ms": "200"},
        {"retry-after": "__date__"},
    ],
)
async def test_retry_after_is_honoured(headers: dict[str, str]) -> None:
    if headers.get("retry-after") == "__date__":  # HTTP-dates have one-second resolution
        headers = {"retry-after": email.utils.formatdate(time.time() + 1.2, usegmt=True)}
    async with FakeOpenAI() as fake:
        fake.script(Status(429, headers=headers), Reply("ok"))
        start = time.monotonic()
        assert concat_chunks(await ask(fake)) == "ok"
        waited = time.monotonic() - start
    assert waited >= 0.18


@pytest.mark.parametrize("value", ["inf", "nan", "-1", "1e300", "soon"])
async def test_garbage_retry_after_falls_back_to_backoff(value: str) -> None:
    async with FakeOpenAI() as fake:
        fake.script(Status(429, headers={"retry-after": value}), Reply("ok"))
        start = time.monotonic()
        assert concat_chunks(await ask(fake)) == "ok"
        assert time.monotonic() - start < 2  # backoff, not a huge or broken wait


async def test_rate_limit_reports_retry_after_when_out_of_retries() -> None:
    async with FakeOpenAI() as fake:
        fake.script(Status(429, headers={"retry-after": "7"}))
        with pytest.raises(RateLimitError) as info:
            await ask(fake, max_retries=0)
        assert info.value.retry_after == 7


async def test_connection_refused_is_retried_then_raised() -> None:
    with pytest.raises(APIConnectionError):
        await ask_url("http://127.0.0.1:9/v1", max_retries=1)


async def ask_url(url: str, **params: Any) -> list[Any]:
    return [
        c
        async for c in OpenaiTemplate.create_async_generator("m", MESSAGES, api_base=url, **params)
    ]


async def test_no_retry_after_the_first_byte() -> None:
    async with FakeOpenAI() as fake:
        fake.script(StreamThenError(chunks=2, error={"message": "overloaded"}), Reply("again"))
        with pytest.raises(ResponseError):
            await ask(fake)
        assert len(fake.requests) == 1


# -- 6 (provider level). leaving a stream closes the upstream response ----------------------


def test_break_from_a_sync_stream_closes_the_upstream_response() -> None:
    with FakeOpenAI.in_thread() as fake:
        fake.script(Stall("body", chunks=3))
        client = Client(base_url=fake.base_url, api_key="sk-test")
        for chunk in client.chat.completions.create(model="m", messages=MESSAGES, stream=True):  # type: ignore[union-attr]
            assert chunk.choices
            break
        fake.disconnects.wait(1, timeout=5)


async def test_cancelling_the_task_closes_the_upstream_response() -> None:
    async with FakeOpenAI() as fake:
        fake.script(Stall("body", chunks=2))
        task = asyncio.ensure_future(ask(fake))
        await fake.received.wait_async(1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await fake.disconnects.wait_async(1)


# -- 7. after many mixed outcomes, sockets, descriptors and tasks return to baseline ------


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


async def test_resources_return_to_baseline_after_mixed_outcomes() -> None:
    # The fake runs on its own loop, so this loop's tasks are ours alone.
    with FakeOpenAI.in_thread() as fake:
        await ask(fake)  # the pool's first connection: part of the baseline
        fds, tasks = _open_fds(), len(asyncio.all_tasks())
        outcomes: dict[str, int] = {}
        # Each request's behaviour is the fake's default (not a queue a cancelled request
        # could leave unconsumed); every request is bounded, so none can hang the test.
        behaviours = [Reply("ok"), Status(500), CutStream(chunks=2), Stall("body", chunks=1)]
        bounded = {"timeout": Timeouts(connect=5, idle=5, total=10), "max_retries": 0}
        stalled = {"timeout": Timeouts(connect=5, idle=0.02, total=10), "max_retries": 0}
        for i in range(1000):
            kind = i % 5
            fake.default = behaviours[kind] if kind < 4 else Many(20)
            try:
                if kind < 4:
                    await ask(fake, **(stalled if kind == 3 else bounded))
                else:
                    task = asyncio.ensure_future(ask(fake, **bounded))
                    await fake.received.wait_async(fake.received.value + 1)
                    task.cancel()
                    await asyncio.gather(task, return_exceptions=True)
                    raise asyncio.CancelledError  # counted below
                outcomes["ok"] = outcomes.get("ok", 0) + 1
            except (Exception, asyncio.CancelledError) as exc:
                outcomes[type(exc).__name__] = outcomes.get(type(exc).__name__, 0) + 1
        assert outcomes == {
            "ok": 200,
            "ResponseStatusError": 200,
            "IncompleteResponseError": 200,
            "IdleTimeoutError": 200,
            "CancelledError": 200,
        }
        await asyncio.sleep(0.05)  # let closed transports finish closing
        assert len(asyncio.all_tasks()) == tasks
        assert _open_fds() <= fds + 4  # a couple of keep-alive sockets, both ends in-process


# -- 8. SSE edge cases on the wire ----------------------------------------------------------


def sse_body(*events: str, line_end: str = "\n") -> str:
    return "".join(e.replace("\n", line_end) + line_end * 2 for e in events)


CHUNK = '{"choices":[{"index":0,"delta":{"content":"%s"},"finish_reason":null}]}'


@pytest.mark.parametrize("line_end", ["\n", "\r\n", "\r"])
async def test_sse_line_endings_comments_and_bom(line_end: str) -> None:
    body = "\ufeff" + sse_body(
        ": keep-alive comment",
        "data: " + CHUNK % "Hel",
        "event: message\ndata: " + CHUNK % "lo",
        "data: [DONE]",
        line_end=line_end,
    )
    async with FakeOpenAI() as fake:
        fake.script(Status(200, body=body, headers={"content-type": "text/event-stream"}))
        assert concat_chunks(await ask(fake)) == "Hello"


async def test_invalid_json_event_is_a_clear_error() -> None:
    body = sse_body("data: " + CHUNK % "ok", "data: {not json", "data: [DONE]")
    async with FakeOpenAI() as fake:
        fake.script(Status(200, body=body, headers={"content-type": "text/event-stream"}))
        with pytest.raises(ResponseError, match="invalid JSON in a stream event"):
            await ask(fake)


async def test_multi_line_data_and_a_very_large_event() -> None:
    big = "x" * 2_000_000
    body = sse_body(
        'data: {"choices":[{"index":0,\ndata: "delta":{"content":"multi"}}]}',
        "data: " + CHUNK % big,
        "data: [DONE]",
    )
    async with FakeOpenAI() as fake:
        fake.script(Status(200, body=body, headers={"content-type": "text/event-stream"}))
        assert concat_chunks(await ask(fake)) == "multi" + big
