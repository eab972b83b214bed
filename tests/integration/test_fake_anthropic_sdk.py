"""The fake Anthropic server, checked against the official ``anthropic`` SDK so it cannot drift.

The SDK validates responses strictly (``_strict_response_validation``) and keeps unknown fields
in ``model_extra``, so a misspelt or invented field shows up here; its stream helper assembles
the events into a message, so a malformed event sequence shows up too.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import anthropic
import pytest
from pydantic import BaseModel

from support.fake_anthropic import SIGNATURE, FakeAnthropic, Message
from support.fake_openai import (
    PROMPT_TOKENS,
    CutStream,
    Reply,
    Status,
    StreamThenError,
    ToolCall,
    Usage,
)

pytestmark = pytest.mark.integration

MODEL = "claude-test"
MESSAGES: list[Any] = [{"role": "user", "content": "hi"}]
SEARCH_ANSWER = Message(
    content=[
        {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search",
         "input": {"query": "weather Paris"}},
        {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_1", "content": [
            {"type": "web_search_result", "url": "https://a.example/p", "title": "A",
             "encrypted_content": "enc", "page_age": "1 day ago"},
            {"type": "web_search_result", "url": "https://b.example/q", "title": "B",
             "encrypted_content": "enc", "page_age": "2 days ago"},
        ]},
        {"type": "text", "text": "It is sunny.", "citations": [
            {"type": "web_search_result_location", "url": "https://b.example/q", "title": "B",
             "encrypted_index": "idx", "cited_text": "Sunny all day"},
        ]},
    ],
    usage={"input_tokens": 50, "output_tokens": 9, "cache_read_input_tokens": 20},
)  # fmt: skip


@pytest.fixture
async def fake() -> AsyncIterator[FakeAnthropic]:
    async with FakeAnthropic() as server:
        yield server


@pytest.fixture
async def client(fake: FakeAnthropic) -> AsyncIterator[anthropic.AsyncAnthropic]:
    async with anthropic.AsyncAnthropic(
        base_url=fake.base_url, api_key="k", max_retries=0, _strict_response_validation=True
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


async def _create(client: anthropic.AsyncAnthropic, **params: Any) -> anthropic.types.Message:
    message = await client.messages.create(model=MODEL, max_tokens=100, messages=MESSAGES, **params)
    _no_extras(message)
    return message


async def _stream(
    client: anthropic.AsyncAnthropic, **params: Any
) -> tuple[list[Any], anthropic.types.Message]:
    """Every event the SDK's stream helper yields, and the message it assembled."""
    async with client.messages.stream(
        model=MODEL, max_tokens=100, messages=MESSAGES, **params
    ) as stream:
        events = [event async for event in stream]
        message = await stream.get_final_message()
    _no_extras(message)
    return events, message


async def test_create_text_and_request_headers(
    fake: FakeAnthropic, client: anthropic.AsyncAnthropic
) -> None:
    fake.script(Reply("Hi there", usage=Usage(prompt_tokens=3, completion_tokens=2)))
    message = await _create(client, stop_sequences=["END"])
    assert [block.type for block in message.content] == ["text"]
    assert message.content[0].text == "Hi there"  # type: ignore[union-attr]
    assert (message.role, message.model, message.stop_reason) == ("assistant", MODEL, "end_turn")
    assert (message.usage.input_tokens, message.usage.output_tokens) == (3, 2)
    [request] = fake.requests
    assert (request.method, request.path) == ("POST", "/v1/messages")
    # SDK 2.x sends the key as a bearer token, earlier ones in x-api-key: the fake takes both
    bearer = request.headers.get("authorization", "").removeprefix("Bearer ")
    assert request.headers.get("x-api-key", bearer) == "k"
    assert "anthropic-version" in request.headers
    assert request.body["stop_sequences"] == ["END"]


async def test_stream_text(client: anthropic.AsyncAnthropic) -> None:
    events, message = await _stream(client)
    kinds = [event.type for event in events]
    assert kinds[0] == "message_start"
    assert kinds[-2:] == ["message_delta", "message_stop"]
    assert kinds.count("text") == 2  # the helper's event per text_delta: "Hello", " world"
    assert message.content[0].text == "Hello world"  # type: ignore[union-attr]
    assert message.stop_reason == "end_turn"
    assert (message.usage.input_tokens, message.usage.output_tokens) == (PROMPT_TOKENS, 2)


@pytest.mark.parametrize("streamed", [True, False])
async def test_tool_use(
    client: anthropic.AsyncAnthropic, fake: FakeAnthropic, streamed: bool
) -> None:
    call = ToolCall("get_weather", '{"city": "Paris"}', "toolu_1")
    fake.script(Reply(None, tool_calls=(call,), chunk_size=4))
    tool = {"name": "get_weather", "input_schema": {"type": "object"}}
    if streamed:
        message = (await _stream(client, tools=[tool]))[1]
    else:
        message = await _create(client, tools=[tool])
    [block] = message.content
    assert block.type == "tool_use"
    assert (block.id, block.name, block.input) == ("toolu_1", "get_weather", {"city": "Paris"})
    assert message.stop_reason == "tool_use"


@pytest.mark.parametrize("streamed", [True, False])
async def test_thinking(
    client: anthropic.AsyncAnthropic, fake: FakeAnthropic, streamed: bool
) -> None:
    fake.script(Reply("42", reasoning="Six times seven."))
    thinking = {"type": "enabled", "budget_tokens": 1024}
    if streamed:
        events, message = await _stream(client, thinking=thinking)
        assert [e.type for e in events].count("signature") == 1
    else:
        message = await _create(client, thinking=thinking)
    assert [block.type for block in message.content] == ["thinking", "text"]
    first = message.content[0]
    assert first.type == "thinking"
    assert (first.thinking, first.signature) == ("Six times seven.", SIGNATURE)


async def test_web_search_blocks_stream_as_they_are_returned(
    fake: FakeAnthropic, client: anthropic.AsyncAnthropic
) -> None:
    fake.script(SEARCH_ANSWER, SEARCH_ANSWER)
    created = await _create(client)
    streamed = (await _stream(client))[1]
    dump = [b.model_dump(exclude_none=True) for b in created.content]
    assert dump == [b.model_dump(exclude_none=True) for b in streamed.content]
    assert dump == SEARCH_ANSWER.content
    assert [b.type for b in created.content] == [
        "server_tool_use", "web_search_tool_result", "text",
    ]  # fmt: skip
    assert created.usage.cache_read_input_tokens == 20


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (401, anthropic.AuthenticationError),
        (403, anthropic.PermissionDeniedError),
        (404, anthropic.NotFoundError),
        (429, anthropic.RateLimitError),
        (500, anthropic.InternalServerError),
        (529, anthropic.InternalServerError),
    ],
)
async def test_error_statuses(
    fake: FakeAnthropic, client: anthropic.AsyncAnthropic, status: int, error: type
) -> None:
    fake.script(Status(status, headers={"retry-after": "3"}))
    with pytest.raises(error) as info:
        await _create(client)
    assert info.value.status_code == status
    assert info.value.body["type"] == "error"
    assert info.value.response.headers["retry-after"] == "3"


async def test_overloaded_maps_to_its_own_class(
    fake: FakeAnthropic, client: anthropic.AsyncAnthropic
) -> None:
    fake.script(Status(529))
    with pytest.raises(anthropic.InternalServerError) as info:
        await _create(client)
    assert info.value.body["error"]["type"] == "overloaded_error"


async def test_error_event_in_a_stream_raises(
    fake: FakeAnthropic, client: anthropic.AsyncAnthropic
) -> None:
    fake.script(StreamThenError(chunks=3, error={"type": "overloaded_error", "message": "Busy"}))
    with pytest.raises(anthropic.APIStatusError) as info:
        await _stream(client)
    assert info.value.body == {"type": "error", "error": {"type": "overloaded_error",
                                                          "message": "Busy"}}  # fmt: skip


async def test_only_the_right_key_is_let_in() -> None:
    async with FakeAnthropic(api_key="right") as fake:
        for key in ("wrong", "right"):
            sdk = anthropic.AsyncAnthropic(base_url=fake.base_url, api_key=key, max_retries=0)
            async with sdk:
                if key == "wrong":
                    with pytest.raises(anthropic.AuthenticationError):
                        await sdk.messages.create(model=MODEL, max_tokens=10, messages=MESSAGES)
                else:
                    await sdk.messages.create(model=MODEL, max_tokens=10, messages=MESSAGES)


async def test_raw_stream_has_event_lines_and_a_cut_stream_lacks_message_stop(
    fake: FakeAnthropic,
) -> None:
    fake.script(Reply("a b"), CutStream(chunks=3))
    body = {"model": MODEL, "max_tokens": 10, "messages": MESSAGES, "stream": True}
    headers = {"anthropic-version": "2023-06-01"}
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{fake.base_url}/v1/messages", json=body, headers=headers) as r:
            assert r.headers["content-type"].startswith("text/event-stream")
            whole = await r.text()
        async with session.post(f"{fake.base_url}/v1/messages", json=body, headers=headers) as r:
            with pytest.raises(aiohttp.ClientPayloadError):
                await r.text()
    events = [e.split("\n")[0] for e in whole.split("\n\n") if e]
    assert events == ["event: message_start", "event: content_block_start", "event: ping",
                      "event: content_block_delta", "event: content_block_delta",
                      "event: content_block_stop", "event: message_delta",
                      "event: message_stop"]  # fmt: skip


async def test_requests_missing_version_or_max_tokens_get_400(fake: FakeAnthropic) -> None:
    body = {"model": MODEL, "messages": MESSAGES}
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{fake.base_url}/v1/messages", json=body) as response:
            assert response.status == 400
            assert "anthropic-version" in (await response.json())["error"]["message"]
        headers = {"anthropic-version": "2023-06-01"}
        async with session.post(f"{fake.base_url}/v1/messages", json=body, headers=headers) as r:
            assert r.status == 400
            error = (await r.json())["error"]
            assert error == {
                "type": "invalid_request_error",
                "message": "max_tokens: Field required",
            }
