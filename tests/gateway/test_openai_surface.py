"""The official `openai` SDK against the gateway: answers, streams, tools, errors — served by
an OpenAI-compatible upstream and by Anthropic's Messages API."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from gateway.conftest import GATEWAY_KEY, OPENAI_KEY, Stack
from support.fake_anthropic import Message
from support.fake_openai import (
    CutStream,
    Many,
    Reply,
    Status,
    StreamThenError,
    ToolCall,
    Usage,
)

pytestmark = pytest.mark.integration

MESSAGES: list[Any] = [{"role": "user", "content": "hi"}]
TOOL = {
    "type": "function",
    "function": {
        "name": "weather",
        "description": "The weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


_open: list[Any] = []


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    while _open:
        _open.pop().close()


def client(stack: Stack, key: str = GATEWAY_KEY) -> openai.OpenAI:
    sdk = openai.OpenAI(
        base_url=stack.gateway.base_url,
        api_key=key,
        max_retries=0,
        _strict_response_validation=True,
    )
    _open.append(sdk)
    return sdk


def test_create_answers_through_the_upstream_with_its_key(fresh: Stack) -> None:
    fresh.openai.script(Reply("Hello there", usage=Usage(completion_tokens=2)))
    completion = client(fresh).chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert completion.choices[0].message.content == "Hello there"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None
    assert completion.usage.completion_tokens == 2
    sent = fresh.openai.requests[-1]
    assert sent.headers["authorization"] == f"Bearer {OPENAI_KEY}"  # the upstream's key
    assert sent.body["messages"] == MESSAGES


def test_stream_yields_chunks_then_usage_and_ends_with_done(fresh: Stack) -> None:
    fresh.openai.script(Many(5))
    stream = client(fresh).chat.completions.create(
        model="gpt-4o-mini",
        messages=MESSAGES,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "t0 t1 t2 t3 t4"
    assert chunks[0].choices[0].delta.role == "assistant"
    finishing = [c for c in chunks if c.choices and c.choices[0].finish_reason]
    assert [c.choices[0].finish_reason for c in finishing] == ["stop"]
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None
    raw = httpx.post(
        f"{fresh.url}/v1/chat/completions",
        headers=_auth(),
        json={"model": "gpt-4o-mini", "messages": MESSAGES, "stream": True},
    )
    assert raw.headers["content-type"].startswith("text/event-stream")
    assert raw.text.endswith("data: [DONE]\n\n")


def test_tool_calls_answered_and_streamed(fresh: Stack) -> None:
    call = ToolCall("weather", '{"city": "Paris"}', id="call_1")
    fresh.openai.script(Reply(None, tool_calls=[call]), Reply(None, tool_calls=[call]))
    sdk = client(fresh)
    completion = sdk.chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, tools=[TOOL], tool_choice="auto"
    )
    calls = completion.choices[0].message.tool_calls
    assert completion.choices[0].finish_reason == "tool_calls"
    assert calls is not None
    assert calls[0].function.name == "weather"
    assert json.loads(calls[0].function.arguments) == {"city": "Paris"}
    assert fresh.openai.requests[-1].body["tools"] == [TOOL]
    chunks = list(
        sdk.chat.completions.create(
            model="gpt-4o-mini", messages=MESSAGES, tools=[TOOL], stream=True
        )
    )
    deltas = [d for c in chunks for d in (c.choices[0].delta.tool_calls or [])]
    assert deltas[0].id == "call_1"
    assert deltas[0].function is not None
    assert json.loads(deltas[0].function.arguments or "") == {"city": "Paris"}
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


def test_tool_results_and_images_reach_the_upstream(fresh: Stack) -> None:
    messages = [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "what is this?"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
            ],
        },
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "weather", "arguments": "{}"},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
    ]
    client(fresh).chat.completions.create(
        model="gpt-4o-mini", messages=messages, response_format={"type": "json_object"}
    )
    body = fresh.openai.requests[-1].body
    assert body["messages"] == messages
    assert body["response_format"] == {"type": "json_object"}


def test_anthropic_upstream_served_as_chat_completions(fresh: Stack) -> None:
    fresh.anthropic.script(
        Reply("Bonjour", reasoning="think", usage=Usage(prompt_tokens=7, completion_tokens=3)),
        Reply("Bonjour"),
    )
    sdk = client(fresh)
    completion = sdk.chat.completions.create(model="claude", messages=MESSAGES, max_tokens=50)
    assert completion.choices[0].message.content == "Bonjour"
    assert completion.usage is not None
    assert completion.usage.prompt_tokens == 7
    sent = fresh.anthropic.requests[-1]
    assert sent.path == "/v1/messages"
    assert sent.body["model"] == "claude-sonnet-4-5"
    assert sent.body["max_tokens"] == 50
    text = "".join(
        c.choices[0].delta.content or ""
        for c in sdk.chat.completions.create(
            model="gpt",
            messages=MESSAGES,
            stream=True,
            extra_body={"provider": "Anthropic"},
        )
        if c.choices
    )
    assert text == "Bonjour"


def test_fallback_chain_moves_on_before_the_first_byte(fresh: Stack) -> None:
    completion = client(fresh).chat.completions.create(model="chain", messages=MESSAGES)
    assert completion.choices[0].message.content == "Hello world"
    assert len(fresh.openai.requests) == 1


def test_rate_limit_keeps_429_and_retry_after(fresh: Stack) -> None:
    fresh.openai.script(Status(429, headers={"retry-after": "7"}))
    with pytest.raises(openai.RateLimitError) as caught:
        client(fresh).chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert caught.value.status_code == 429
    assert caught.value.response.headers["retry-after"] == "7"


@pytest.mark.parametrize(("status", "expected"), [(500, 502), (503, 503), (400, 400)])
def test_upstream_errors_keep_their_status_class(fresh: Stack, status: int, expected: int) -> None:
    fresh.openai.script(Status(status))
    with pytest.raises(openai.APIStatusError) as caught:
        client(fresh).chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert caught.value.status_code == expected


def test_unknown_model_and_provider_are_404(fresh: Stack) -> None:
    sdk = client(fresh)
    with pytest.raises(openai.NotFoundError, match="NoSuchProvider"):
        sdk.chat.completions.create(
            model="x", messages=MESSAGES, extra_body={"provider": "NoSuchProvider"}
        )
    fresh.openai.script(Status(404))
    with pytest.raises(openai.NotFoundError):
        sdk.chat.completions.create(model="no-such-model", messages=MESSAGES)


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"model": "m"}, "messages"),
        ({"messages": MESSAGES}, "model"),
        ({"model": "m", "messages": []}, "messages"),
        ({"model": "m", "messages": [{"content": "no role"}]}, "messages"),
        ({"model": "m", "messages": MESSAGES, "temperature": "hot"}, "temperature"),
        ({"model": "m", "messages": MESSAGES, "frobnicate": 1}, "frobnicate"),
        ({"model": "m", "messages": MESSAGES, "stream": "yes"}, "stream"),
        (
            {
                "model": "m",
                "messages": [
                    {
                        "role": "user",
                        "content": [{"type": "image_url", "image_url": {"url": "/etc/passwd"}}],
                    }
                ],
            },
            "messages",
        ),
    ],
)
def test_invalid_requests_are_400_naming_the_field(
    fresh: Stack, body: dict[str, Any], param: str
) -> None:
    response = httpx.post(f"{fresh.url}/v1/chat/completions", headers=_auth(), json=body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["param"] == param
    assert param in error["message"]
    assert fresh.openai.requests == []


def test_malformed_json_is_400(fresh: Stack) -> None:
    response = httpx.post(f"{fresh.url}/v1/chat/completions", headers=_auth(), content=b"{nope")
    assert response.status_code == 400
    assert "JSON" in response.json()["error"]["message"]


def test_cut_stream_ends_with_an_error_never_a_finish_reason(fresh: Stack) -> None:
    fresh.openai.script(CutStream(chunks=3))
    seen: list[Any] = []
    stream = client(fresh).chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True
    )
    with pytest.raises(openai.APIError):
        seen.extend(stream)
    assert seen
    assert all(c.choices[0].finish_reason is None for c in seen)
    fresh.openai.script(StreamThenError(chunks=3))
    raw = httpx.post(
        f"{fresh.url}/v1/chat/completions",
        headers=_auth(),
        json={"model": "gpt-4o-mini", "messages": MESSAGES, "stream": True},
    ).text
    assert '"error"' in raw
    assert "[DONE]" not in raw
    assert '"finish_reason":"stop"' not in raw


def test_anthropic_stream_error_reaches_the_openai_caller(fresh: Stack) -> None:
    fresh.anthropic.script(CutStream(chunks=4, reply=Reply("one two three four five six")))
    with pytest.raises(openai.APIError):
        for _ in client(fresh).chat.completions.create(
            model="claude", messages=MESSAGES, stream=True
        ):
            pass


def test_models_list_and_retrieve(fresh: Stack) -> None:
    sdk = client(fresh)
    ids = [m.id for m in sdk.models.list()]
    assert {"claude", "chain", "gpt-4o-mini"} <= set(ids)
    assert sdk.models.retrieve("claude").id == "claude"
    with pytest.raises(openai.NotFoundError):
        sdk.models.retrieve("nope")


def test_routed_anthropic_message_with_thinking_content_is_kept(fresh: Stack) -> None:
    fresh.anthropic.script(Message([{"type": "text", "text": "ok"}]))
    completion = client(fresh).chat.completions.create(model="claude", messages=MESSAGES)
    assert completion.choices[0].message.content == "ok"


def _auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {GATEWAY_KEY}"}
