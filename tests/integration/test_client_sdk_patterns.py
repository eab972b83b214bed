"""The official SDK's common call patterns run unchanged on llmrelay's client: the same
functions get an `openai.OpenAI` and a `llmrelay.Client` (only the constructor differs) against
the same fake upstream, and must see the same results."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import openai
import pytest

import llmrelay
from support.fake_openai import FakeOpenAI, Reply, ToolCall

pytestmark = pytest.mark.integration

MESSAGES = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "Say hello."},
]
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Weather for a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        },
    }
]


# -- code written for the OpenAI SDK -------------------------------------------------------


def create(client: Any) -> dict[str, Any]:
    completion = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    choice = completion.choices[0]
    return {
        "content": choice.message.content,
        "role": choice.message.role,
        "finish_reason": choice.finish_reason,
        "model": completion.model,
        "usage": (completion.usage.prompt_tokens, completion.usage.completion_tokens),
    }


def stream(client: Any) -> dict[str, Any]:
    parts, finish = [], None
    for chunk in client.chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True
    ):
        if chunk.choices and chunk.choices[0].delta.content:
            parts.append(chunk.choices[0].delta.content)
        if chunk.choices and chunk.choices[0].finish_reason:
            finish = chunk.choices[0].finish_reason
    return {"content": "".join(parts), "finish_reason": finish}


def stream_with_usage(client: Any) -> dict[str, Any]:
    usage = None
    for chunk in client.chat.completions.create(
        model="gpt-4o-mini",
        messages=MESSAGES,
        stream=True,
        stream_options={"include_usage": True},
    ):
        if not chunk.choices:
            usage = (chunk.usage.prompt_tokens, chunk.usage.completion_tokens)
    return {"usage": usage}


def tools(client: Any) -> dict[str, Any]:
    completion = client.chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, tools=TOOLS, tool_choice="auto"
    )
    message = completion.choices[0].message
    call = message.tool_calls[0]
    follow_up = [
        *MESSAGES,
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": call.id, "type": "function",
             "function": {"name": call.function.name, "arguments": call.function.arguments}},
        ]},
        {"role": "tool", "tool_call_id": call.id, "content": "Sunny"},
    ]  # fmt: skip
    answer = client.chat.completions.create(model="gpt-4o-mini", messages=follow_up, tools=TOOLS)
    return {
        "finish_reason": completion.choices[0].finish_reason,
        "name": call.function.name,
        "arguments": json.loads(call.function.arguments),
        "id": call.id,
        "answer": answer.choices[0].message.content,
    }


def response_format(client: Any) -> dict[str, Any]:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    completion = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=MESSAGES,
        response_format={"type": "json_schema", "json_schema": {"name": "n", "schema": schema}},
        seed=1,
        temperature=0,
        max_tokens=20,
    )
    return {"parsed": json.loads(completion.choices[0].message.content)}


PATTERNS: dict[str, tuple[Callable[[Any], dict[str, Any]], list[Reply]]] = {
    "create": (create, [Reply("Hello there")]),
    "stream": (stream, [Reply("Hello streaming world")]),
    "stream_with_usage": (stream_with_usage, [Reply("Counted words")]),
    "tools": (
        tools,
        [
            Reply(content=None, tool_calls=(ToolCall("get_weather", '{"city": "Oslo"}'),)),
            Reply("It is sunny."),
        ],
    ),
    "response_format": (response_format, [Reply('{"n": 7}')]),
}


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI.in_thread() as server:
        yield server


@pytest.mark.parametrize("pattern", PATTERNS)
def test_same_code_same_results(fake: FakeOpenAI, pattern: str) -> None:
    function, replies = PATTERNS[pattern]
    clients = {
        "openai": openai.OpenAI(base_url=fake.base_url, api_key="sk-test", max_retries=0),
        "llmrelay": llmrelay.Client(base_url=fake.base_url, api_key="sk-test"),
    }
    results, bodies = {}, {}
    for name, client in clients.items():
        fake.script(*replies)
        before = len(fake.requests)
        results[name] = function(client)
        bodies[name] = [r.body for r in fake.requests[before:]]
    clients["openai"].close()
    assert results["llmrelay"] == results["openai"]
    # And both sent the same requests (ours adds stream_options to every stream: usage).
    for ours, theirs in zip(bodies["llmrelay"], bodies["openai"], strict=True):
        ours.pop("stream_options", None)
        theirs.pop("stream_options", None)
        assert ours == theirs


async def test_async_patterns_both_ways(fake: FakeOpenAI) -> None:
    ours = llmrelay.AsyncClient(base_url=fake.base_url, api_key="sk-test")
    theirs = openai.AsyncOpenAI(base_url=fake.base_url, api_key="sk-test", max_retries=0)
    texts = []
    for client in (theirs, ours):
        fake.script(Reply("Async hello"))
        stream = await client.chat.completions.create(
            model="gpt-4o-mini", messages=MESSAGES, stream=True
        )
        texts.append("".join([c.choices[0].delta.content or "" async for c in stream]))
    await theirs.close()
    assert texts == ["Async hello", "Async hello"]
