"""The fake OpenAI server, checked against the official ``openai`` SDK so it cannot drift.

The SDK validates every response strictly (``_strict_response_validation``) and its models keep
unknown fields in ``model_extra``, so a misspelt or invented field shows up here.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import openai
import pytest
from openai.types.chat import ChatCompletionChunk, ChatCompletionToolParam
from pydantic import BaseModel

from support.fake_openai import (
    PROMPT_TOKENS,
    CutStream,
    FakeOpenAI,
    Many,
    Reply,
    Stall,
    Status,
    StreamThenError,
    ToolCall,
    Trickle,
    Usage,
    error_body,
)

pytestmark = pytest.mark.integration

MODEL = "gpt-test"
MESSAGES: list[Any] = [{"role": "user", "content": "hi"}]
WEATHER_TOOL: ChatCompletionToolParam = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "strict": True,
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
            "additionalProperties": False,
        },
    },
}


@pytest.fixture
async def fake() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI(models=["gpt-a", "gpt-b"]) as server:
        yield server


@pytest.fixture
async def client(fake: FakeOpenAI) -> AsyncIterator[openai.AsyncOpenAI]:
    async with openai.AsyncOpenAI(
        base_url=fake.base_url, api_key="sk-test", max_retries=0, _strict_response_validation=True
    ) as sdk:
        yield sdk


def _no_extras(model: BaseModel) -> None:
    """No field outside the SDK's schema, at any depth."""
    assert not model.model_extra, model.model_extra
    for name in type(model).model_fields:
        value = getattr(model, name)
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, BaseModel):
                _no_extras(item)


async def _collect(
    stream: openai.AsyncStream[ChatCompletionChunk], into: list[ChatCompletionChunk] | None = None
) -> list[ChatCompletionChunk]:
    """The stream's chunks, also appended to ``into`` as they come (to keep them on errors)."""
    chunks = [] if into is None else into
    async for chunk in stream:
        chunks.append(chunk)
    return chunks


def _sync_client(fake: FakeOpenAI) -> openai.OpenAI:
    return openai.OpenAI(
        base_url=fake.base_url, api_key="sk-test", max_retries=0, _strict_response_validation=True
    )


async def test_non_streaming_completion(fake: FakeOpenAI, client: openai.AsyncOpenAI) -> None:
    fake.script(Reply("Hi there", usage=Usage(prompt_tokens=3, completion_tokens=2)))
    completion = await client.chat.completions.create(
        model=MODEL, messages=MESSAGES, seed=7, n=1, temperature=0.5
    )
    _no_extras(completion)
    dumped = completion.model_dump()
    assert dumped["object"] == "chat.completion"
    assert dumped["model"] == MODEL
    assert dumped["choices"][0]["message"]["content"] == "Hi there"
    assert dumped["choices"][0]["message"]["role"] == "assistant"
    assert dumped["choices"][0]["finish_reason"] == "stop"
    usage = dumped["usage"]
    assert (usage["prompt_tokens"], usage["completion_tokens"], usage["total_tokens"]) == (3, 2, 5)
    [request] = fake.requests
    assert (request.method, request.path) == ("POST", "/v1/chat/completions")
    assert request.headers["authorization"] == "Bearer sk-test"
    assert request.headers["content-type"] == "application/json"
    assert request.body == {
        "model": MODEL, "messages": MESSAGES, "seed": 7, "n": 1, "temperature": 0.5,
    }  # fmt: skip
    assert json.loads(request.raw) == request.body


async def test_default_usage_counts_pieces(client: openai.AsyncOpenAI) -> None:
    completion = await client.chat.completions.create(model=MODEL, messages=MESSAGES)
    assert completion.choices[0].message.content == "Hello world"
    assert completion.usage is not None
    assert completion.usage.prompt_tokens == PROMPT_TOKENS
    assert completion.usage.completion_tokens == 2  # "Hello", " world"


async def test_streaming_with_usage(fake: FakeOpenAI, client: openai.AsyncOpenAI) -> None:
    fake.script(Reply("one two three"))
    stream = await client.chat.completions.create(
        model=MODEL, messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    )
    chunks = await _collect(stream)
    for chunk in chunks:
        _no_extras(chunk)
        assert (chunk.object, chunk.model) == ("chat.completion.chunk", MODEL)
    assert len({(c.id, c.created) for c in chunks}) == 1
    *deltas, last = chunks
    assert deltas[0].choices[0].delta.role == "assistant"
    assert deltas[0].choices[0].delta.content == ""
    assert "".join(c.choices[0].delta.content or "" for c in deltas) == "one two three"
    assert [c.choices[0].finish_reason for c in deltas] == [None] * 4 + ["stop"]
    assert all(c.usage is None and "usage" in c.model_fields_set for c in deltas)
    assert last.choices == []
    assert last.usage is not None
    assert (last.usage.completion_tokens, last.usage.total_tokens) == (3, PROMPT_TOKENS + 3)
    assert fake.requests[0].body["stream"] is True
    assert fake.requests[0].body["stream_options"] == {"include_usage": True}


async def test_streaming_without_usage(client: openai.AsyncOpenAI) -> None:
    stream = await client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True)
    chunks = await _collect(stream)
    assert all(len(c.choices) == 1 and "usage" not in c.model_fields_set for c in chunks)
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "Hello world"
    assert chunks[-1].choices[0].finish_reason == "stop"


async def test_raw_wire_format_ends_with_done(fake: FakeOpenAI) -> None:
    fake.script(Reply("a b", usage=False))
    body = {"model": MODEL, "messages": MESSAGES, "stream": True}
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{fake.base_url}/chat/completions", json=body) as response,
    ):
        assert response.status == 200
        assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
        text = await response.text()
    events = text.split("\n\n")
    assert events[-2:] == ["data: [DONE]", ""]
    assert all(event.startswith("data: {") for event in events[:-2])
    assert len(events[:-2]) == 4  # role, "a", " b", finish


async def test_many_streams_exactly_n_content_chunks(
    fake: FakeOpenAI, client: openai.AsyncOpenAI
) -> None:
    fake.script(Many(100))
    stream = await client.chat.completions.create(
        model=MODEL, messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    )
    chunks = await _collect(stream)
    contents = [c.choices[0].delta.content for c in chunks if c.choices]
    assert len([text for text in contents if text]) == 100
    assert "".join(text or "" for text in contents) == Many(100).reply().content
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == 100


async def test_reasoning_deltas(fake: FakeOpenAI, client: openai.AsyncOpenAI) -> None:
    fake.script(Reply("42", reasoning="Think first."), Reply("42", reasoning="Think first."))
    stream = await client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True)
    deltas = [c.choices[0].delta for c in await _collect(stream)]
    reasoning = [(d.model_extra or {}).get("reasoning_content") for d in deltas]
    assert "".join(r for r in reasoning if r) == "Think first."
    first_content = next(i for i, d in enumerate(deltas) if d.content)
    assert all(r is None for r in reasoning[first_content:])
    assert "".join(d.content or "" for d in deltas) == "42"

    completion = await client.chat.completions.create(model=MODEL, messages=MESSAGES)
    message = completion.choices[0].message
    assert message.model_extra == {"reasoning_content": "Think first."}
    assert completion.usage is not None
    assert completion.usage.completion_tokens_details is not None
    assert completion.usage.completion_tokens_details.reasoning_tokens == 2


async def test_streamed_tool_calls_with_stream_helper(
    fake: FakeOpenAI, client: openai.AsyncOpenAI
) -> None:
    calls = [
        ToolCall("get_weather", '{"city": "Paris"}', id="call_a"),
        ToolCall("get_weather", '{"city": "Oslo"}'),
    ]
    fake.script(Reply(content=None, tool_calls=calls, chunk_size=4))
    done: list[tuple[int, object]] = []
    async with client.chat.completions.stream(
        model=MODEL, messages=MESSAGES, tools=[WEATHER_TOOL]
    ) as stream:
        async for event in stream:
            if event.type == "tool_calls.function.arguments.done":
                done.append((event.index, event.parsed_arguments))
        final = await stream.get_final_completion()
    assert done == [(0, {"city": "Paris"}), (1, {"city": "Oslo"})]
    choice = final.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    tool_calls = choice.message.tool_calls or []
    assert [(t.id, t.type, t.function.name) for t in tool_calls] == [
        ("call_a", "function", "get_weather"),
        ("call_1", "function", "get_weather"),
    ]
    assert [json.loads(t.function.arguments) for t in tool_calls] == [
        {"city": "Paris"},
        {"city": "Oslo"},
    ]
    request = fake.requests[0].body
    assert request["stream"] is True
    assert request["tools"] == [WEATHER_TOOL]


async def test_tool_call_fragments_on_the_wire(
    fake: FakeOpenAI, client: openai.AsyncOpenAI
) -> None:
    fake.script(Reply(content=None, tool_calls=[ToolCall("f", '{"x": 1}', id="c1")], chunk_size=3))
    stream = await client.chat.completions.create(
        model=MODEL, messages=MESSAGES, stream=True, tools=[WEATHER_TOOL]
    )
    fragments = [t for c in await _collect(stream) for t in c.choices[0].delta.tool_calls or []]
    first, *rest = fragments
    assert (first.index, first.id, first.type) == (0, "c1", "function")
    assert first.function is not None
    assert (first.function.name, first.function.arguments) == ("f", "")
    assert all(f.index == 0 and f.id is None and f.type is None for f in rest)
    assert [f.function.arguments for f in rest if f.function] == ['{"x', '": ', "1}"]


async def test_non_streaming_tool_calls(fake: FakeOpenAI, client: openai.AsyncOpenAI) -> None:
    fake.script(Reply(content=None, tool_calls=[ToolCall("get_weather", '{"city": "Rome"}')]))
    completion = await client.chat.completions.create(
        model=MODEL, messages=MESSAGES, tools=[WEATHER_TOOL]
    )
    _no_extras(completion)
    [call] = completion.choices[0].message.tool_calls or []
    assert call.type == "function"
    assert (call.id, call.function.name) == ("call_0", "get_weather")
    assert json.loads(call.function.arguments) == {"city": "Rome"}
    assert completion.choices[0].finish_reason == "tool_calls"


async def test_models_list(fake: FakeOpenAI, client: openai.AsyncOpenAI) -> None:
    models = [model async for model in client.models.list(extra_query={"page": "1"})]
    assert [m.id for m in models] == ["gpt-a", "gpt-b"]
    for model in models:
        _no_extras(model)
        assert model.object == "model"
        assert isinstance(model.created, int)
        assert model.owned_by
    [request] = fake.requests
    assert (request.method, request.path, request.query) == ("GET", "/v1/models", {"page": "1"})
    assert (request.body, request.raw) == (None, b"")


async def test_script_is_consumed_in_order_then_default(
    fake: FakeOpenAI, client: openai.AsyncOpenAI
) -> None:
    fake.script(Status(500), Reply("second"))
    with pytest.raises(openai.InternalServerError):
        await client.chat.completions.create(model=MODEL, messages=MESSAGES)
    second = await client.chat.completions.create(model=MODEL, messages=MESSAGES)
    third = await client.chat.completions.create(model=MODEL, messages=MESSAGES)
    assert second.choices[0].message.content == "second"
    assert third.choices[0].message.content == "Hello world"
    assert fake.received.value == len(fake.requests) == 3


@pytest.mark.parametrize(
    ("status", "error", "code", "kind"),
    [
        (Status(401), openai.AuthenticationError, "invalid_api_key", "invalid_request_error"),
        (Status(429), openai.RateLimitError, "rate_limit_exceeded", "requests"),
        (Status(500), openai.InternalServerError, None, "server_error"),
        (Status(503), openai.InternalServerError, None, "server_error"),
        (Status(400), openai.BadRequestError, None, "invalid_request_error"),
    ],
)
async def test_error_statuses_map_to_sdk_exceptions(
    fake: FakeOpenAI,
    client: openai.AsyncOpenAI,
    status: Status,
    error: type[openai.APIStatusError],
    code: str | None,
    kind: str,
) -> None:
    fake.script(status)
    with pytest.raises(error) as caught:
        await client.chat.completions.create(model=MODEL, messages=MESSAGES)
    assert caught.value.status_code == status.code
    assert (caught.value.code, caught.value.type, caught.value.param) == (code, kind, None)
    assert isinstance(caught.value.body, dict)
    assert set(caught.value.body) == {"message", "type", "param", "code"}
    assert len(fake.requests) == 1  # max_retries=0


async def test_rate_limit_retry_after_header(fake: FakeOpenAI, client: openai.AsyncOpenAI) -> None:
    body = error_body("Slow down", "requests", "rate_limit_exceeded")
    fake.script(Status(429, body=body, headers={"retry-after": "7"}))
    with pytest.raises(openai.RateLimitError) as caught:
        await client.chat.completions.create(model=MODEL, messages=MESSAGES)
    assert caught.value.response.headers["retry-after"] == "7"
    assert caught.value.message == "Error code: 429 - Slow down"


async def test_non_json_error_body(fake: FakeOpenAI, client: openai.AsyncOpenAI) -> None:
    fake.script(Status(502, body="<html>Bad gateway</html>", headers={"content-type": "text/html"}))
    with pytest.raises(openai.InternalServerError) as caught:
        await client.chat.completions.create(model=MODEL, messages=MESSAGES)
    assert caught.value.status_code == 502
    assert caught.value.body == "<html>Bad gateway</html>"
    assert caught.value.response.headers["content-type"] == "text/html"


async def test_api_key_check() -> None:
    async with (
        FakeOpenAI(api_key="sk-right") as fake,
        openai.AsyncOpenAI(base_url=fake.base_url, api_key="sk-wrong", max_retries=0) as sdk,
    ):
        with pytest.raises(openai.AuthenticationError):
            await sdk.chat.completions.create(model=MODEL, messages=MESSAGES)
        ok = sdk.with_options(api_key="sk-right")
        completion = await ok.chat.completions.create(model=MODEL, messages=MESSAGES)
        assert completion.choices[0].message.content == "Hello world"


async def test_unknown_path_is_openai_404(client: openai.AsyncOpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        await client.moderations.create(model=MODEL, input="x")  # a route this fake lacks
    assert caught.value.body == error_body("Invalid URL (POST /v1/moderations)")["error"]


async def test_error_inside_stream(fake: FakeOpenAI, client: openai.AsyncOpenAI) -> None:
    error = error_body("Overloaded mid-stream", "server_error")["error"]
    fake.script(StreamThenError(chunks=3, error=error))
    stream = await client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True)
    received: list[ChatCompletionChunk] = []
    with pytest.raises(openai.APIError) as caught:
        await _collect(stream, received)
    assert len(received) == 3
    assert caught.value.message == "Overloaded mid-stream"
    assert caught.value.body == error
    assert caught.value.type == "server_error"


async def test_cut_stream_is_a_connection_error(
    fake: FakeOpenAI, client: openai.AsyncOpenAI
) -> None:
    fake.script(CutStream(chunks=2))
    stream = await client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True)
    received: list[ChatCompletionChunk] = []
    with pytest.raises(openai.APIConnectionError):
        await _collect(stream, received)
    assert [c.choices[0].finish_reason for c in received] == [None, None]


async def test_cut_non_streaming_body(fake: FakeOpenAI, client: openai.AsyncOpenAI) -> None:
    fake.script(CutStream())
    with pytest.raises(openai.APIConnectionError):
        await client.chat.completions.create(model=MODEL, messages=MESSAGES)


async def test_stall_before_headers_sees_cancellation(
    fake: FakeOpenAI, client: openai.AsyncOpenAI
) -> None:
    fake.script(Stall("headers"))
    task = asyncio.create_task(client.chat.completions.create(model=MODEL, messages=MESSAGES))
    await fake.received.wait_async(1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await fake.disconnects.wait_async(1)


async def test_stall_in_body_times_out_and_disconnects(
    fake: FakeOpenAI, client: openai.AsyncOpenAI
) -> None:
    fake.script(Stall("body", chunks=2))
    stream = await client.with_options(timeout=0.5).chat.completions.create(
        model=MODEL, messages=MESSAGES, stream=True
    )
    received: list[ChatCompletionChunk] = []
    with pytest.raises(openai.APITimeoutError):
        await _collect(stream, received)
    assert len(received) == 2
    await fake.disconnects.wait_async(1)


async def test_stall_ends_by_itself_after_max_seconds(
    fake: FakeOpenAI, client: openai.AsyncOpenAI
) -> None:
    fake.script(Stall("headers", max_seconds=0.05))
    with pytest.raises(openai.APIConnectionError):
        await client.chat.completions.create(model=MODEL, messages=MESSAGES)
    assert fake.disconnects.value == 0


async def test_trickle_until_the_client_leaves(fake: FakeOpenAI) -> None:
    fake.script(Trickle(interval=0.01))
    body = {"model": MODEL, "messages": MESSAGES, "stream": True}
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{fake.base_url}/chat/completions", json=body) as response,
    ):
        assert response.status == 200
        assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
        assert await response.content.readexactly(3) == b":::"
    await fake.disconnects.wait_async(1)


async def test_stop_ends_pending_stalls_without_counting_disconnects() -> None:
    async with FakeOpenAI(default=Stall("body", chunks=1)) as fake:
        body = {"model": MODEL, "messages": MESSAGES, "stream": True}
        async with aiohttp.ClientSession() as session:
            response = await session.post(f"{fake.base_url}/chat/completions", json=body)
            async with response:
                assert (await response.content.readline()).startswith(b"data: {")
                await fake.stop()
                with pytest.raises(aiohttp.ClientPayloadError):
                    await response.content.read()
    assert fake.disconnects.value == 0


def test_in_thread_with_the_sync_sdk() -> None:
    with (
        FakeOpenAI.in_thread(models=["m1"]) as fake,
        _sync_client(fake) as sdk,
    ):
        fake.script(Reply("sync hello"))
        completion = sdk.chat.completions.create(model=MODEL, messages=MESSAGES)
        assert completion.choices[0].message.content == "sync hello"
        assert [m.id for m in sdk.models.list()] == ["m1"]
        stream = sdk.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True)
        assert "".join(c.choices[0].delta.content or "" for c in stream) == "Hello world"
        fake.script(Stall("headers"))
        with pytest.raises(openai.APITimeoutError):
            sdk.with_options(timeout=0.3).chat.completions.create(model=MODEL, messages=MESSAGES)
        fake.disconnects.wait(1)
        assert fake.received.value == 4


async def test_in_thread_from_another_event_loop() -> None:
    with FakeOpenAI.in_thread(default=Stall("headers")) as fake:
        async with openai.AsyncOpenAI(
            base_url=fake.base_url, api_key="sk-test", max_retries=0
        ) as sdk:
            task = asyncio.create_task(sdk.chat.completions.create(model=MODEL, messages=MESSAGES))
            await fake.received.wait_async(1)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            await fake.disconnects.wait_async(1)


async def test_counter_wait_times_out(fake: FakeOpenAI) -> None:
    with pytest.raises(TimeoutError):
        await fake.disconnects.wait_async(1, timeout=0.01)
    with pytest.raises(TimeoutError):
        fake.disconnects.wait(1, timeout=0.01)
