"""The fake Ollama server, checked against the official ``ollama`` SDK so it cannot drift.

The SDK's pydantic models drop fields they do not know, so besides reading every answer through
the SDK, the raw objects the fake sends are checked against the SDK's field names: a misspelt or
invented field shows up here.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import httpx
import ollama
import pytest
from ollama import ChatResponse, ListResponse, Message
from pydantic import BaseModel

from support.fake_ollama import VERSION, FakeOllama
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

MODEL = "llama3.2"
MESSAGES: list[Any] = [{"role": "user", "content": "hi"}]
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string", "description": "The city"}},
            "required": ["city"],
        },
    },
}
#: Fields real Ollama sends that the SDK's models do not declare.
UNMODELLED = {"tool_call": {"id"}, "tag": {"name"}}


@pytest.fixture
async def fake() -> AsyncIterator[FakeOllama]:
    async with FakeOllama(models=["llama3.2:latest", "qwen3:0.6b"]) as server:
        yield server


@pytest.fixture
async def client(
    fake: FakeOllama, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[ollama.AsyncClient]:
    monkeypatch.delenv("OLLAMA_API_KEY", raising=False)
    sdk = ollama.AsyncClient(host=fake.base_url)
    try:
        yield sdk
    finally:
        await sdk.close()  # the SDK's AsyncClient has no `async with`


def _fields(model: type[BaseModel]) -> set[str]:
    return set(model.model_fields)


def _check_answer_object(raw: dict[str, Any]) -> None:
    """Every key of an `/api/chat` object is one the SDK declares (or Ollama's own extras)."""
    assert set(raw) <= _fields(ChatResponse), set(raw) - _fields(ChatResponse)
    message = raw["message"]
    assert set(message) <= _fields(Message), set(message) - _fields(Message)
    for call in message.get("tool_calls", ()):
        assert set(call) <= _fields(Message.ToolCall) | UNMODELLED["tool_call"]
        assert set(call["function"]) <= _fields(Message.ToolCall.Function) | {"index"}
        assert isinstance(call["function"]["arguments"], dict)


async def _raw_lines(fake: FakeOllama, body: dict[str, Any]) -> tuple[str, str]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{fake.base_url}/api/chat", json=body) as response,
    ):
        assert response.status == 200
        text = await response.text()
        return response.headers["content-type"], text


async def _drain(client: ollama.AsyncClient, into: list[ChatResponse]) -> None:
    """Stream an answer into ``into`` (kept when the stream fails)."""
    async for part in await client.chat(MODEL, MESSAGES, stream=True):
        into.append(part)


async def test_non_streaming_chat(fake: FakeOllama, client: ollama.AsyncClient) -> None:
    fake.script(Reply("Hi there", usage=Usage(prompt_tokens=3, completion_tokens=2)))
    response = await client.chat(model=MODEL, messages=MESSAGES, options={"temperature": 0.5})
    assert response.message.role == "assistant"
    assert response.message.content == "Hi there"
    assert (response.done, response.done_reason) == (True, "stop")
    assert (response.prompt_eval_count, response.eval_count) == (3, 2)
    assert response.model == MODEL
    assert response.created_at
    assert response.total_duration
    assert response.eval_duration
    [request] = fake.requests
    assert (request.method, request.path) == ("POST", "/api/chat")
    assert request.body == {
        "model": MODEL, "messages": MESSAGES, "tools": [], "stream": False,
        "options": {"temperature": 0.5},
    }  # fmt: skip


async def test_streaming_chat(fake: FakeOllama, client: ollama.AsyncClient) -> None:
    fake.script(Reply("one two three"))
    parts = [part async for part in await client.chat(model=MODEL, messages=MESSAGES, stream=True)]
    assert fake.requests[0].body["stream"] is True
    *pieces, last = parts
    assert [p.message.content for p in pieces] == ["one", " two", " three"]
    assert not any(p.done for p in pieces)
    assert all(p.done_reason is None and p.eval_count is None for p in pieces)
    assert (last.done, last.done_reason, last.message.content) == (True, "stop", "")
    assert (last.prompt_eval_count, last.eval_count) == (PROMPT_TOKENS, 3)


async def test_raw_stream_is_ndjson_of_sdk_fields(fake: FakeOllama) -> None:
    fake.script(Reply("a b", reasoning="hm", tool_calls=(ToolCall("f", '{"x": 1}', id="c1"),)))
    content_type, text = await _raw_lines(fake, {"model": MODEL, "messages": MESSAGES})
    assert content_type == "application/x-ndjson"  # Ollama streams unless told not to
    assert text.endswith("}\n")
    lines = [json.loads(line) for line in text.splitlines()]
    assert [line["done"] for line in lines] == [False] * 4 + [True]
    for line in lines:
        _check_answer_object(line)
    assert lines[-1]["done_reason"] == "stop"

    fake.script(Reply("a b", reasoning="hm", tool_calls=(ToolCall("f", '{"x": 1}'),)))
    body = {"model": MODEL, "messages": MESSAGES, "stream": False}
    content_type, text = await _raw_lines(fake, body)
    assert content_type == "application/json; charset=utf-8"
    whole = json.loads(text)
    _check_answer_object(whole)
    assert whole["message"] == {
        "role": "assistant", "content": "a b", "thinking": "hm",
        "tool_calls": [{"function": {"index": 0, "name": "f", "arguments": {"x": 1}}}],
    }  # fmt: skip


@pytest.mark.parametrize("stream", [False, True])
async def test_tool_calls(fake: FakeOllama, client: ollama.AsyncClient, stream: bool) -> None:
    calls = (ToolCall("get_weather", '{"city": "Paris"}'), ToolCall("get_time", "{}"))
    fake.script(Reply(content=None, tool_calls=calls))
    if stream:
        parts = [p async for p in await client.chat(MODEL, MESSAGES, tools=[WEATHER_TOOL],
                                                     stream=True)]  # fmt: skip
        got = [c for p in parts for c in p.message.tool_calls or ()]
        assert parts[-1].done_reason == "stop"
    else:
        response = await client.chat(MODEL, MESSAGES, tools=[WEATHER_TOOL])
        got = list(response.message.tool_calls or ())
        assert response.done_reason == "stop"
    assert [(c.function.name, dict(c.function.arguments)) for c in got] == [
        ("get_weather", {"city": "Paris"}), ("get_time", {}),
    ]  # fmt: skip
    sent = fake.requests[0].body["tools"]
    assert sent[0]["function"]["name"] == "get_weather"
    assert sent[0]["function"]["parameters"]["required"] == ["city"]

    follow_up = [
        *MESSAGES,
        {"role": "assistant", "content": "", "tool_calls": [got[0]]},
        {"role": "tool", "tool_name": "get_weather", "content": "Sunny"},
    ]
    await client.chat(MODEL, follow_up)
    messages = fake.requests[-1].body["messages"]
    assert messages[1]["tool_calls"][0]["function"]["arguments"] == {"city": "Paris"}
    assert messages[2] == {"role": "tool", "tool_name": "get_weather", "content": "Sunny"}


async def test_thinking(fake: FakeOllama, client: ollama.AsyncClient) -> None:
    fake.script(*[Reply("42", reasoning="Six times seven.")] * 2)
    parts = [p async for p in await client.chat(MODEL, MESSAGES, think=True, stream=True)]
    assert fake.requests[0].body["think"] is True
    assert "".join(p.message.thinking or "" for p in parts) == "Six times seven."
    assert "".join(p.message.content for p in parts) == "42"
    response = await client.chat(MODEL, MESSAGES, think="high")
    assert fake.requests[1].body["think"] == "high"
    assert (response.message.thinking, response.message.content) == ("Six times seven.", "42")


async def test_images_arrive_as_base64(fake: FakeOllama, client: ollama.AsyncClient) -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 8
    await client.chat(MODEL, [{"role": "user", "content": "what?", "images": [png]}])
    assert fake.requests[0].body["messages"][0]["images"] == ["iVBORw0KGgoAAAAAAAAAAA=="]


async def test_list_models(fake: FakeOllama, client: ollama.AsyncClient) -> None:
    listed = await client.list()
    assert [m.model for m in listed.models] == ["llama3.2:latest", "qwen3:0.6b"]
    assert listed.models[0].details is not None
    assert listed.models[0].details.family == "llama"
    assert listed.models[0].size is not None
    assert listed.models[0].modified_at is not None
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{fake.base_url}/api/tags") as response,
    ):
        raw = await response.json()
    tag_fields = _fields(ListResponse.Model) | UNMODELLED["tag"]
    assert all(set(model) <= tag_fields for model in raw["models"])
    assert (await client._request_raw("GET", "/api/version")).json() == {"version": VERSION}


async def test_unknown_model_is_404(fake: FakeOllama, client: ollama.AsyncClient) -> None:
    fake.script(Status(404), Status(404))
    with pytest.raises(ollama.ResponseError) as info:
        await client.chat("nope", MESSAGES)
    assert (info.value.status_code, info.value.error) == (404, "model 'nope' not found")
    with pytest.raises(ollama.ResponseError) as info:
        [p async for p in await client.chat("nope", MESSAGES, stream=True)]
    assert info.value.status_code == 404


@pytest.mark.parametrize("code", [400, 401, 500, 503])
async def test_error_statuses(fake: FakeOllama, client: ollama.AsyncClient, code: int) -> None:
    fake.script(Status(code))
    with pytest.raises(ollama.ResponseError) as info:
        await client.chat(MODEL, MESSAGES)
    assert info.value.status_code == code
    assert info.value.error  # the body's "error" text, not the raw body
    assert not info.value.error.startswith("{")


async def test_error_in_the_stream(fake: FakeOllama, client: ollama.AsyncClient) -> None:
    fake.script(StreamThenError(chunks=2, error={"message": "llama runner process has terminated"}))
    seen: list[ChatResponse] = []
    with pytest.raises(ollama.ResponseError) as info:
        await _drain(client, seen)
    assert info.value.error == "llama runner process has terminated"
    assert len(seen) == 2
    assert not any(p.done for p in seen)


async def test_cut_stream_never_looks_done(fake: FakeOllama, client: ollama.AsyncClient) -> None:
    fake.script(CutStream(chunks=3))
    seen: list[ChatResponse] = []
    with pytest.raises(httpx.RemoteProtocolError):
        await _drain(client, seen)
    assert len(seen) == 3
    assert not any(p.done for p in seen)
    fake.script(CutStream())
    with pytest.raises(httpx.RemoteProtocolError):
        await client.chat(MODEL, MESSAGES)


async def test_api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    async with FakeOllama(api_key="ollama-key") as fake:
        monkeypatch.delenv("OLLAMA_API_KEY", raising=False)
        anonymous = ollama.AsyncClient(host=fake.base_url)
        with pytest.raises(ollama.ResponseError) as info:
            await anonymous.chat(MODEL, MESSAGES)
        await anonymous.close()
        assert (info.value.status_code, info.value.error) == (401, "unauthorized")
        monkeypatch.setenv("OLLAMA_API_KEY", "ollama-key")
        keyed = ollama.AsyncClient(host=fake.base_url)  # reads OLLAMA_API_KEY
        response = await keyed.chat(MODEL, MESSAGES)
        await keyed.close()
        assert response.message.content == "Hello world"
        assert fake.requests[-1].headers["authorization"] == "Bearer ollama-key"


async def test_unknown_route_is_plain_404(fake: FakeOllama) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{fake.base_url}/v1/api/chat", json={}) as response,
    ):
        assert response.status == 404
        assert await response.text() == "404 page not found"
