"""One behaviour across all providers: every entry of `entries.py` runs every test here."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from conformance.entries import ENTRIES
from conformance.harness import Entry
from llmrelay.errors import (
    IncompleteResponseError,
    InvalidRequestError,
    MissingAuthError,
    RateLimitError,
    ResponseError,
    ResponseStatusError,
)
from llmrelay.providers.response import FinishReason, Reasoning, ToolCalls
from llmrelay.providers.response import Usage as UsageChunk
from support.fake_openai import CutStream, Reply, Status, StreamThenError, ToolCall, Usage

pytestmark = pytest.mark.integration

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
USER = [{"role": "user", "content": "Hello?"}]


@pytest.fixture(params=ENTRIES, ids=lambda e: e.name)
async def setup(request: pytest.FixtureRequest) -> AsyncIterator[tuple[Entry, Any]]:
    entry: Entry = request.param
    async with entry.upstream() as upstream:
        yield entry, upstream


async def ask(
    setup: tuple[Entry, Any], messages: list[dict[str, Any]] = USER, **params: Any
) -> list[Any]:
    entry, upstream = setup
    create = entry.provider.get_async_create_function()
    arguments = {**entry.params(upstream), **params}
    return [chunk async for chunk in create(entry.model, messages, **arguments)]


def text(chunks: list[Any]) -> str:
    return "".join(c for c in chunks if isinstance(c, str))


def sent(setup: tuple[Entry, Any]) -> Any:
    return setup[1].requests[-1].body


async def test_plain_answer(setup: tuple[Entry, Any]) -> None:
    setup[1].script(Reply("Hello world", usage=Usage(prompt_tokens=7, completion_tokens=2)))
    chunks = await ask(setup, stream=False)
    assert text(chunks) == "Hello world"
    assert FinishReason("stop") in chunks
    usage = next(c for c in chunks if isinstance(c, UsageChunk))
    assert (usage.prompt_tokens, usage.completion_tokens) == (7, 2)


async def test_stream(setup: tuple[Entry, Any]) -> None:
    setup[1].script(Reply("Hello big wide world"))
    chunks = await ask(setup, stream=True)
    pieces = [c for c in chunks if isinstance(c, str)]
    assert "".join(pieces) == "Hello big wide world"
    assert len(pieces) > 1
    assert FinishReason("stop") in chunks
    assert any(isinstance(c, UsageChunk) for c in chunks)


async def test_system_prompt(setup: tuple[Entry, Any]) -> None:
    entry, _ = setup
    await ask(setup, [{"role": "system", "content": "Be brief."}, *USER])
    assert entry.wire.system(sent(setup)) == "Be brief."
    assert entry.wire.turns(sent(setup)) == [("user", "Hello?")]


async def test_multi_turn(setup: tuple[Entry, Any]) -> None:
    entry, _ = setup
    history = [
        {"role": "user", "content": "One?"},
        {"role": "assistant", "content": "Two."},
        {"role": "user", "content": "Three?"},
    ]
    await ask(setup, history)
    assert entry.wire.turns(sent(setup)) == [("user", "One?"), ("assistant", "Two."),
                                             ("user", "Three?")]  # fmt: skip


async def test_image_input(setup: tuple[Entry, Any]) -> None:
    entry, _ = setup
    await ask(setup, media=[(PNG, "dot.png")])
    assert entry.wire.image_count(sent(setup)) == 1
    as_part = [{"role": "user", "content": [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
    ]}]  # fmt: skip
    await ask(setup, as_part)
    assert entry.wire.image_count(sent(setup)) == 1


WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


@pytest.mark.parametrize("stream", [True, False])
async def test_tool_call_and_result(setup: tuple[Entry, Any], stream: bool) -> None:
    entry, upstream = setup
    upstream.script(Reply(content=None, tool_calls=(ToolCall("get_weather", '{"city": "Paris"}'),)))
    chunks = await ask(setup, tools=[WEATHER_TOOL], stream=stream)
    assert entry.wire.tool_names(sent(setup)) == ["get_weather"]
    calls = next(c for c in chunks if isinstance(c, ToolCalls)).get_list()
    assert len(calls) == 1
    assert calls[0]["function"]["name"] == "get_weather"
    assert json.loads(calls[0]["function"]["arguments"]) == {"city": "Paris"}
    assert calls[0]["id"]
    assert FinishReason("tool_calls") in chunks
    follow_up = [
        *USER,
        {"role": "assistant", "content": None, "tool_calls": calls},
        {"role": "tool", "tool_call_id": calls[0]["id"], "content": "Sunny, 21 C"},
    ]
    await ask(setup, follow_up, tools=[WEATHER_TOOL])
    assert entry.wire.tool_results(sent(setup)) == [(calls[0]["id"], "Sunny, 21 C")]


async def test_json_schema_output(setup: tuple[Entry, Any]) -> None:
    entry, upstream = setup
    schema = {"type": "object", "properties": {"answer": {"type": "integer"}},
              "required": ["answer"]}  # fmt: skip
    upstream.script(Reply('{"answer": 42}'))
    response_format = {"type": "json_schema", "json_schema": {"name": "result", "schema": schema}}
    chunks = await ask(setup, response_format=response_format)
    assert entry.wire.json_schema(sent(setup)) == schema
    assert json.loads(text(chunks)) == {"answer": 42}


async def test_reasoning(setup: tuple[Entry, Any]) -> None:
    setup[1].script(Reply("42", reasoning="Six times seven."))
    chunks = await ask(setup)
    assert "".join(c.token or "" for c in chunks if isinstance(c, Reasoning)) == "Six times seven."
    assert text(chunks) == "42"


@pytest.mark.parametrize(
    ("behaviour", "error"),
    [
        (Status(401), MissingAuthError),
        (Status(500), ResponseStatusError),
        (StreamThenError(chunks=2), ResponseError),
        (CutStream(chunks=2), IncompleteResponseError),
    ],
)
async def test_errors(setup: tuple[Entry, Any], behaviour: Any, error: type) -> None:
    setup[1].script(behaviour)
    with pytest.raises(error) as info:
        await ask(setup, max_retries=0)
    assert info.value.provider == setup[0].provider.__name__


async def test_rate_limit_with_retry_after(setup: tuple[Entry, Any]) -> None:
    setup[1].script(Status(429, headers={"retry-after": "3"}))
    with pytest.raises(RateLimitError) as info:
        await ask(setup, max_retries=0)
    assert info.value.retry_after == 3
    assert info.value.status_code == 429


@pytest.mark.parametrize("max_retries", [-1, True, "2"])
async def test_bad_max_retries_refused_before_any_request(
    setup: tuple[Entry, Any], max_retries: Any
) -> None:
    with pytest.raises(InvalidRequestError, match="max_retries must be an integer"):
        await ask(setup, max_retries=max_retries)
    assert not [r for r in setup[1].requests if r.method == "POST"]
