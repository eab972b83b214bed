"""The official `anthropic` SDK against the gateway's `/v1/messages`: messages, every stream
event type, tools, thinking, errors — served by an OpenAI-compatible upstream and by
Anthropic itself."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anthropic
import httpx
import pytest

from gateway.conftest import GATEWAY_KEY, Stack
from support.fake_openai import CutStream, Many, Reply, Status, StreamThenError, ToolCall, Usage

pytestmark = pytest.mark.integration

MESSAGES: list[Any] = [{"role": "user", "content": "hi"}]
TOOL = {
    "name": "weather",
    "description": "The weather",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
}


_open: list[Any] = []


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    while _open:
        _open.pop().close()


def client(stack: Stack, key: str = GATEWAY_KEY) -> anthropic.Anthropic:
    sdk = anthropic.Anthropic(
        base_url=stack.url, api_key=key, max_retries=0, _strict_response_validation=True
    )
    _open.append(sdk)
    return sdk


def test_message_from_an_openai_compatible_upstream(fresh: Stack) -> None:
    fresh.openai.script(Reply("Hello there", usage=Usage(prompt_tokens=9, completion_tokens=2)))
    message = client(fresh).messages.create(
        model="gpt-4o-mini",
        max_tokens=64,
        system="Be brief.",
        messages=MESSAGES,
        stop_sequences=["END"],
        extra_body={"temperature": 0.5},
    )
    assert message.content[0].type == "text"
    assert message.content[0].text == "Hello there"
    assert message.stop_reason == "end_turn"
    assert message.role == "assistant"
    assert message.usage.input_tokens == 9
    assert message.usage.output_tokens == 2
    body = fresh.openai.requests[-1].body
    assert body["messages"] == [{"role": "system", "content": "Be brief."}, *MESSAGES]
    assert body["max_tokens"] == 64
    assert body["stop"] == ["END"]
    assert body["temperature"] == 0.5


def test_stream_sends_every_event_type_in_order(fresh: Stack) -> None:
    fresh.openai.script(Reply("Hi you", reasoning="Let me think"))
    with client(fresh).messages.stream(
        model="gpt-4o-mini", max_tokens=64, messages=MESSAGES
    ) as stream:
        kinds = []
        deltas = []
        for event in stream:
            kinds.append(event.type)
            if event.type == "content_block_delta":
                deltas.append(event.delta.type)
        final = stream.get_final_message()
    assert kinds[0] == "message_start"
    assert kinds[-2:] == ["message_delta", "message_stop"]
    assert kinds.count("content_block_start") == kinds.count("content_block_stop") == 2
    assert "thinking_delta" in deltas
    assert "text_delta" in deltas
    assert [b.type for b in final.content] == ["thinking", "text"]
    assert final.content[1].text == "Hi you"  # type: ignore[union-attr]
    assert final.stop_reason == "end_turn"
    assert final.usage.output_tokens > 0
    raw = httpx.post(
        f"{fresh.url}/v1/messages",
        headers={"x-api-key": GATEWAY_KEY},
        json={"model": "gpt-4o-mini", "max_tokens": 9, "messages": MESSAGES, "stream": True},
    ).text
    assert "event: ping\n" in raw
    assert raw.rstrip().endswith('data: {"type":"message_stop"}')


def test_tool_use_streamed_and_answered(fresh: Stack) -> None:
    call = ToolCall("weather", '{"city": "Paris"}', id="call_9")
    fresh.openai.script(Reply("Checking.", tool_calls=[call]), Reply(None, tool_calls=[call]))
    sdk = client(fresh)
    message = sdk.messages.create(
        model="gpt-4o-mini",
        max_tokens=64,
        messages=MESSAGES,
        tools=[TOOL],
        tool_choice={"type": "any"},
    )
    assert message.stop_reason == "tool_use"
    use = message.content[-1]
    assert use.type == "tool_use"
    assert use.name == "weather"
    assert use.input == {"city": "Paris"}
    sent = fresh.openai.requests[-1].body
    assert sent["tool_choice"] == "required"
    assert sent["tools"][0]["function"]["parameters"] == TOOL["input_schema"]
    with sdk.messages.stream(
        model="gpt-4o-mini", max_tokens=64, messages=MESSAGES, tools=[TOOL]
    ) as stream:
        deltas = [e.delta.type for e in stream if e.type == "content_block_delta"]
        final = stream.get_final_message()
    assert "input_json_delta" in deltas
    assert final.content[-1].type == "tool_use"
    assert final.content[-1].input == {"city": "Paris"}


def test_tool_results_become_tool_messages(fresh: Stack) -> None:
    messages = [
        {"role": "user", "content": "weather?"},
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Checking."},
                {"type": "tool_use", "id": "toolu_1", "name": "weather", "input": {"city": "Oslo"}},
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": "cold"},
                {"type": "text", "text": "so?"},
                {
                    "type": "image",
                    "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="},
                },
            ],
        },
    ]
    client(fresh).messages.create(
        model="gpt-4o-mini", max_tokens=64, messages=messages, tools=[TOOL]
    )
    sent = fresh.openai.requests[-1].body["messages"]
    assert sent[1] == {
        "role": "assistant",
        "content": "Checking.",
        "tool_calls": [
            {
                "id": "toolu_1",
                "type": "function",
                "function": {"name": "weather", "arguments": '{"city": "Oslo"}'},
            }
        ],
    }
    assert sent[2] == {"role": "tool", "tool_call_id": "toolu_1", "content": "cold"}
    assert sent[3]["content"][1] == {
        "type": "image_url",
        "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="},
    }


def test_anthropic_upstream_through_messages_keeps_thinking(fresh: Stack) -> None:
    fresh.anthropic.script(Reply("Paris", reasoning="capital?"))
    message = client(fresh).messages.create(
        model="claude",
        max_tokens=2048,
        messages=MESSAGES,
        thinking={"type": "enabled", "budget_tokens": 1024},
    )
    assert [b.type for b in message.content] == ["thinking", "text"]
    sent = fresh.anthropic.requests[-1].body
    assert sent["thinking"] == {"type": "enabled", "budget_tokens": 1024}
    assert sent["model"] == "claude-sonnet-4-5"


def test_thinking_is_dropped_for_providers_without_it(fresh: Stack) -> None:
    client(fresh).messages.create(
        model="gpt-4o-mini",
        max_tokens=64,
        messages=MESSAGES,
        thinking={"type": "enabled", "budget_tokens": 1024},
    )
    assert "thinking" not in fresh.openai.requests[-1].body


def test_errors_are_anthropic_shaped_with_their_status(fresh: Stack) -> None:
    sdk = client(fresh)
    fresh.openai.script(Status(429, headers={"retry-after": "3"}))
    with pytest.raises(anthropic.RateLimitError) as caught:
        sdk.messages.create(model="gpt-4o-mini", max_tokens=8, messages=MESSAGES)
    assert caught.value.response.headers["retry-after"] == "3"
    assert caught.value.body["error"]["type"] == "rate_limit_error"  # type: ignore[index]
    response = httpx.post(
        f"{fresh.url}/v1/messages",
        headers={"x-api-key": GATEWAY_KEY},
        json={"model": "m", "messages": MESSAGES},
    )
    assert response.status_code == 400
    assert response.json() == {
        "type": "error",
        "error": {"type": "invalid_request_error", "message": "max_tokens: Field required"},
    }
    with pytest.raises(anthropic.NotFoundError):
        sdk.messages.create(
            model="m", max_tokens=8, messages=MESSAGES, extra_body={"provider": "Nope"}
        )
    with pytest.raises(anthropic.AuthenticationError):
        client(fresh, key="wrong").messages.create(model="m", max_tokens=8, messages=MESSAGES)


def test_cut_stream_ends_with_an_error_event(fresh: Stack) -> None:
    fresh.openai.script(CutStream(chunks=3))
    with (
        pytest.raises(anthropic.APIStatusError),
        client(fresh).messages.stream(
            model="gpt-4o-mini", max_tokens=64, messages=MESSAGES
        ) as stream,
    ):
        for _ in stream:
            pass
    fresh.openai.script(StreamThenError(chunks=3))
    raw = httpx.post(
        f"{fresh.url}/v1/messages",
        headers={"x-api-key": GATEWAY_KEY},
        json={"model": "gpt-4o-mini", "max_tokens": 9, "messages": MESSAGES, "stream": True},
    ).text
    assert "event: error\n" in raw
    assert "message_stop" not in raw
    assert "message_delta" not in raw


def test_long_stream_arrives_whole(fresh: Stack) -> None:
    fresh.openai.script(Many(300))
    with client(fresh).messages.stream(
        model="gpt-4o-mini", max_tokens=1024, messages=MESSAGES
    ) as stream:
        text = "".join(stream.text_stream)
    assert text == " ".join(f"t{i}" for i in range(300))
