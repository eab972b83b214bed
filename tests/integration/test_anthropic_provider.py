"""`Anthropic` against `FakeAnthropic`: what goes on the wire, what comes back as chunks, and how
its failures surface (beyond the shared conformance suite)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from llmrelay.client import AsyncClient
from llmrelay.errors import (
    IncompleteResponseError,
    MissingAuthError,
    RateLimitError,
    ResponseStatusError,
    UnsupportedParameterError,
)
from llmrelay.Provider.anthropic import Anthropic
from llmrelay.providers.response import FinishReason, Reasoning, Sources, ToolCalls, Usage
from support.fake_anthropic import SIGNATURE, FakeAnthropic, Message, error_body
from support.fake_openai import CutStream, Reply, Status, StreamThenError, ToolCall

pytestmark = pytest.mark.integration

KEY = "sk-ant-api03-secret-key-value"
USER = [{"role": "user", "content": "Hi"}]
SEARCH = Message(
    content=[
        {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search",
         "input": {"query": "weather"}},
        {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_1", "content": [
            {"type": "web_search_result", "url": "https://a.example/", "title": "A",
             "encrypted_content": "e", "page_age": None},
        ]},
        {"type": "text", "text": "Sunny.", "citations": [
            {"type": "web_search_result_location", "url": "https://a.example/", "title": "A",
             "encrypted_index": "i", "cited_text": "sun"},
        ]},
    ],
)  # fmt: skip


async def ask(fake: FakeAnthropic, messages: Any = USER, **params: Any) -> list[Any]:
    params = {"api_base": fake.base_url, "api_key": KEY, "max_retries": 0, **params}
    create = Anthropic.get_async_create_function()
    return [chunk async for chunk in create("", messages, **params)]


@pytest.fixture
async def fake() -> Any:
    async with FakeAnthropic(api_key=KEY) as server:
        yield server


async def test_request_headers_path_and_defaults(fake: FakeAnthropic) -> None:
    chunks = await ask(fake, [{"role": "system", "content": "Be brief."}, *USER], stop="END")
    assert "".join(c for c in chunks if isinstance(c, str)) == "Hello world"
    [request] = fake.requests
    assert (request.method, request.path) == ("POST", "/v1/messages")
    assert request.headers["x-api-key"] == KEY
    assert request.headers["anthropic-version"] == "2023-06-01"
    assert request.headers["content-type"] == "application/json"
    assert request.body == {
        "model": "claude-sonnet-4-5", "max_tokens": 4096, "system": "Be brief.",
        "messages": [{"role": "user", "content": [{"type": "text", "text": "Hi"}]}],
        "stream": True, "stop_sequences": ["END"],
    }  # fmt: skip
    assert Anthropic.last_model == "claude-sonnet-4-5"


async def test_key_and_base_url_come_from_the_environment(
    fake: FakeAnthropic, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", fake.base_url + "/v1/")
    create = Anthropic.get_async_create_function()
    chunks = [c async for c in create("claude-haiku-4-5", USER, stream=False)]
    assert FinishReason("stop") in chunks
    assert fake.requests[-1].path == "/v1/messages"
    assert fake.requests[-1].body["model"] == "claude-haiku-4-5"


async def test_a_missing_key_names_its_variable_before_any_request(
    fake: FakeAnthropic, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    with pytest.raises(MissingAuthError, match="ANTHROPIC_API_KEY"):
        await ask(fake, api_key=None)
    assert fake.requests == []


async def test_seed_is_not_a_parameter_of_this_api(fake: FakeAnthropic) -> None:
    with pytest.raises(UnsupportedParameterError, match="seed"):
        await ask(fake, seed=1)
    assert "seed" not in Anthropic.get_parameters()
    assert fake.requests == []


@pytest.mark.parametrize("stream", [True, False])
async def test_thinking_streams_as_reasoning_then_its_signature(
    fake: FakeAnthropic, stream: bool
) -> None:
    fake.script(Reply("42", reasoning="Six times seven."))
    thinking = {"type": "enabled", "budget_tokens": 1024}
    chunks = await ask(fake, thinking=thinking, stream=stream)
    reasoning = [c for c in chunks if isinstance(c, Reasoning)]
    assert "".join(r.token or "" for r in reasoning) == "Six times seven."
    assert reasoning[-1] == Reasoning(signature=SIGNATURE)
    assert chunks.index(reasoning[-1]) < chunks.index("42")
    assert fake.requests[-1].body["thinking"] == thinking

    follow_up = [*USER, {"role": "assistant", "content": "42",
                         "reasoning_content": "Six times seven.",
                         "reasoning": {"signature": SIGNATURE}}, *USER]  # fmt: skip
    await ask(fake, follow_up, thinking=thinking)
    assert fake.requests[-1].body["messages"][1]["content"][0] == {
        "type": "thinking", "thinking": "Six times seven.", "signature": SIGNATURE,
    }  # fmt: skip


async def test_tool_input_streamed_in_fragments_is_assembled(fake: FakeAnthropic) -> None:
    calls = (ToolCall("a", '{"x": [1, 2, 3]}', "toolu_a"), ToolCall("b", "{}", "toolu_b"))
    fake.script(Reply("Using tools.", tool_calls=calls, chunk_size=3))
    tool = {"type": "function", "function": {"name": "a", "parameters": {"type": "object"}}}
    chunks = await ask(
        fake, tools=[tool], tool_choice={"type": "function", "function": {"name": "a"}}
    )
    [tool_calls] = [c for c in chunks if isinstance(c, ToolCalls)]
    assert [(c["id"], c["function"]["name"], json.loads(c["function"]["arguments"]))
            for c in tool_calls.get_list()] == [("toolu_a", "a", {"x": [1, 2, 3]}),
                                                ("toolu_b", "b", {})]  # fmt: skip
    assert chunks[-2:-1] == [FinishReason("tool_calls")]
    assert fake.requests[-1].body["tool_choice"] == {"type": "tool", "name": "a"}


@pytest.mark.parametrize("stream", [True, False])
async def test_web_search_offers_the_server_tool_and_yields_its_citations(
    fake: FakeAnthropic, stream: bool
) -> None:
    fake.script(SEARCH)
    chunks = await ask(fake, web_search=True, stream=stream)
    assert fake.requests[-1].body["tools"] == [
        {"type": "web_search_20250305", "name": "web_search", "max_uses": 5}
    ]
    assert [c for c in chunks if isinstance(c, str)] == ["Sunny."]
    [sources] = [c for c in chunks if isinstance(c, Sources)]
    assert sources.list == [{"url": "https://a.example/", "title": "A"}]
    assert not any(isinstance(c, ToolCalls) for c in chunks)


async def test_json_schema_uses_structured_outputs(fake: FakeAnthropic) -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}}
    fake.script(Reply('{"n": 1}'))
    response_format = {"type": "json_schema", "json_schema": {"name": "r", "schema": schema}}
    chunks = await ask(fake, response_format=response_format)
    assert json.loads("".join(c for c in chunks if isinstance(c, str))) == {"n": 1}
    assert fake.requests[-1].body["output_config"] == {
        "format": {"type": "json_schema", "schema": schema}
    }


async def test_overloaded_529_is_retried(fake: FakeAnthropic) -> None:
    fake.script(Status(529, headers={"retry-after": "0"}), Reply("ok"))
    chunks = await ask(fake, max_retries=1)
    assert "ok" in chunks
    assert len(fake.requests) == 2


@pytest.mark.parametrize(
    ("behaviour", "error", "status"),
    [
        (Status(529), ResponseStatusError, 529),
        (Status(401), MissingAuthError, 401),
        (Status(403), MissingAuthError, 403),
        (Status(429, headers={"retry-after": "7"}), RateLimitError, 429),
        (StreamThenError(3, error={"type": "overloaded_error", "message": "Overloaded"}),
         ResponseStatusError, None),
        (StreamThenError(3, error={"type": "rate_limit_error", "message": "Slow down"}),
         RateLimitError, None),
    ],
)  # fmt: skip
async def test_errors_map_through_the_table(
    fake: FakeAnthropic, behaviour: Any, error: type, status: int | None
) -> None:
    fake.script(behaviour)
    with pytest.raises(error) as info:
        await ask(fake)
    assert info.value.status_code == status
    assert info.value.provider == "Anthropic"
    if status == 429:
        assert info.value.retry_after == 7


async def test_a_wrong_key_never_shows_in_the_error(fake: FakeAnthropic) -> None:
    fake.script(Status(401, body=error_body("authentication_error", f"bad key {KEY}")))
    with pytest.raises(MissingAuthError) as info:
        await ask(fake)
    assert KEY not in f"{info.value} {info.value!r} {info.value.body}"


async def test_a_stream_cut_after_its_last_block_is_incomplete(fake: FakeAnthropic) -> None:
    fake.script(CutStream(chunks=100, reply=Reply("all of it")))  # every event but the end
    received: list[Any] = []

    async def read() -> None:
        create = Anthropic.get_async_create_function()
        async for chunk in create("", USER, api_base=fake.base_url, api_key=KEY):
            received.append(chunk)

    with pytest.raises(IncompleteResponseError):
        await read()
    assert "".join(c for c in received if isinstance(c, str)) == "all of it"
    assert not any(isinstance(c, FinishReason) for c in received)


async def test_a_cleanly_closed_stream_without_message_stop_is_incomplete(
    fake: FakeAnthropic,
) -> None:
    events = [
        {"type": "message_start", "message": {"type": "message", "content": [], "usage": {}}},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "x"}},
        {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {}},
    ]
    body = "".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in events)
    fake.script(Status(200, body=body))  # a complete HTTP body that lacks the end event
    with pytest.raises(IncompleteResponseError, match="message_stop"):
        await ask(fake)


async def test_the_client_assembles_an_openai_shaped_completion(fake: FakeAnthropic) -> None:
    fake.script(Reply(None, tool_calls=(ToolCall("f", '{"a": 1}', "toolu_1"),)), Reply("Hi!"))
    client = AsyncClient(api_key=KEY, base_url=fake.base_url, provider=Anthropic)
    completion = await client.chat.completions.create(USER, "claude-sonnet-4-5")
    message = completion.choices[0].message
    assert completion.choices[0].finish_reason == "tool_calls"
    assert message.tool_calls is not None
    assert message.tool_calls[0].function.arguments == '{"a": 1}'
    stream = await client.chat.completions.create(USER, "claude-sonnet-4-5", stream=True)
    chunks = [chunk async for chunk in stream]
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Hi!"
    usage = chunks[-1].usage
    assert usage is not None
    assert (usage.prompt_tokens, usage.completion_tokens) == (10, 1)


def test_usage_chunk_counts_every_prompt_token() -> None:
    from llmrelay.protocols.anthropic.upstream_response import usage_chunk

    usage = usage_chunk({"input_tokens": 3, "cache_read_input_tokens": 40, "output_tokens": 2})
    assert isinstance(usage, Usage)
    assert (usage.prompt_tokens, usage.total_tokens, usage.cache_read_input_tokens) == (43, 45, 40)
