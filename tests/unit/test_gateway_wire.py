"""The gateway direction of the wire formats, byte by byte: requests in, SSE events out."""

from __future__ import annotations

import json
from typing import Any

import pytest

from llmrelay.client.assemble import Answer
from llmrelay.client.types import ChatCompletionChunk
from llmrelay.protocols.anthropic import gateway_request, gateway_response
from llmrelay.protocols.fields import FieldError
from llmrelay.protocols.openai import gateway as openai_gateway
from llmrelay.providers.response import FinishReason, Reasoning, ToolCalls, Usage
from llmrelay.transport.sse import SSEDecoder
from llmrelay.transport.sse_encode import DONE, comment, encode_event

MESSAGES: list[Any] = [{"role": "user", "content": "hi"}]


def _chunks(*items: Any) -> list[ChatCompletionChunk]:
    answer = Answer("m")
    out = [c for c in (answer.add(i) for i in items) if c is not None]
    return out


def _events(data: bytes) -> list[tuple[str, Any]]:
    decoder = SSEDecoder()
    events = decoder.feed(data)
    return [(e.event, e.data if e.data == "[DONE]" else json.loads(e.data)) for e in events]


@pytest.mark.parametrize("text", ["plain", "two\nlines", "cr\rlf\r\n", ""])
def test_sse_encoder_round_trips_through_the_decoder(text: str) -> None:
    normalised = text.replace("\r\n", "\n").replace("\r", "\n")
    [event] = SSEDecoder().feed(encode_event(text, "kind"))
    assert (event.event, event.data) == ("kind", normalised)
    assert SSEDecoder().feed(comment("keep-alive") + DONE)[0].data == "[DONE]"


def test_openai_request_keeps_allowed_fields_only() -> None:
    request = openai_gateway.parse_request(
        {"model": "m", "messages": MESSAGES, "stream": True, "temperature": 0.2,
         "max_completion_tokens": 7, "stream_options": {"include_usage": True},
         "provider": "Groq", "logprobs": False, "parallel_tool_calls": True}
    )  # fmt: skip
    assert request.params == {"temperature": 0.2, "max_tokens": 7}
    assert (request.stream, request.include_usage, request.provider) == (True, True, "Groq")


@pytest.mark.parametrize(
    ("body", "param"),
    [([], "body"), ({"model": 1, "messages": MESSAGES}, "model"),
     ({"model": "m", "messages": MESSAGES, "api_base": "http://x"}, "api_base"),
     ({"model": "m", "messages": MESSAGES, "seed": 1.5}, "seed"),
     ({"model": "m", "messages": MESSAGES, "stream_options": {}}, "stream_options"),
     ({"model": "m", "messages": [{"role": "user", "content": [
         {"type": "file", "file": {"file_data": "/etc/passwd"}}]}]}, "messages")],
)  # fmt: skip
def test_openai_request_errors_name_the_field(body: Any, param: str) -> None:
    with pytest.raises(FieldError) as caught:
        openai_gateway.parse_request(body)
    assert caught.value.param == param


def test_the_operator_allow_list_passes_a_field_as_given() -> None:
    body = {"model": "m", "messages": MESSAGES, "api_base": "http://x/v1"}
    request = openai_gateway.parse_request(body, allowed=("api_base",))
    assert request.params == {"api_base": "http://x/v1"}


def test_openai_chunks_are_the_apis() -> None:
    chunks = _chunks("Hel", "lo", Reasoning(token="hm"),
                     ToolCalls([{"id": "c1", "type": "function",
                                 "function": {"name": "f", "arguments": "{}"}}]),
                     FinishReason("tool_calls"))  # fmt: skip
    encoder = openai_gateway.ChunkEncoder(include_usage=True)
    events = [data for _, data in _events(b"".join(encoder.encode(c) for c in chunks))]
    assert events[0]["choices"][0]["delta"] == {"role": "assistant", "content": "Hel"}
    assert events[1]["choices"][0]["delta"] == {"content": "lo"}
    assert events[2]["choices"][0]["delta"] == {"reasoning_content": "hm"}
    assert events[3]["choices"][0]["delta"]["tool_calls"][0]["function"]["name"] == "f"
    assert events[4]["choices"][0]["finish_reason"] == "tool_calls"
    assert all(e["object"] == "chat.completion.chunk" and e["usage"] is None for e in events)


def test_anthropic_request_becomes_our_messages() -> None:
    request = gateway_request.parse_request({
        "model": "m", "max_tokens": 10, "system": [{"type": "text", "text": "Be kind."}],
        "stop_sequences": ["X"], "metadata": {"user_id": "u1"},
        "tool_choice": {"type": "tool", "name": "f"},
        "tools": [{"name": "f", "input_schema": {"type": "object"}},
                  {"type": "web_search_20250305", "name": "web_search"}],
        "thinking": {"type": "enabled", "budget_tokens": 2000},
        "messages": [
            {"role": "user", "content": "q"},
            {"role": "assistant", "content": [
                {"type": "thinking", "thinking": "t", "signature": "sig"},
                {"type": "tool_use", "id": "u1", "name": "f", "input": {"a": 1}}]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "u1", "is_error": True,
                 "content": [{"type": "text", "text": "boom"}]}]},
        ],
    })  # fmt: skip
    assert request.messages == [
        {"role": "system", "content": "Be kind."},
        {"role": "user", "content": "q"},
        {"role": "assistant", "content": None, "reasoning_content": "t",
         "reasoning": {"signature": "sig", "text": "t"},
         "tool_calls": [{"id": "u1", "type": "function",
                         "function": {"name": "f", "arguments": '{"a": 1}'}}]},
        {"role": "tool", "tool_call_id": "u1", "content": "Error: boom"},
    ]  # fmt: skip
    assert request.params == {
        "max_tokens": 10, "stop": ["X"], "user": "u1", "web_search": True,
        "tools": [{"type": "function", "function": {"name": "f",
                                                    "parameters": {"type": "object"}}}],
        "tool_choice": {"type": "function", "function": {"name": "f"}},
        "thinking": {"type": "enabled", "budget_tokens": 2000},
    }  # fmt: skip


@pytest.mark.parametrize(
    ("body", "param"),
    [({"model": "m", "messages": MESSAGES}, "max_tokens"),
     ({"model": "m", "max_tokens": 1, "messages": [{"role": "system", "content": "x"}]},
      "messages"),
     ({"model": "m", "max_tokens": 1, "messages": MESSAGES, "system": 3}, "system"),
     ({"model": "m", "max_tokens": 1, "messages": MESSAGES, "base_url": "x"}, "base_url"),
     ({"model": "m", "max_tokens": 0, "messages": MESSAGES}, "max_tokens")],
)  # fmt: skip
def test_anthropic_request_errors_name_the_field(body: Any, param: str) -> None:
    with pytest.raises(FieldError) as caught:
        gateway_request.parse_request(body)
    assert caught.value.param == param


def test_anthropic_stream_has_every_event_type_in_order() -> None:
    answer = Answer("m")
    items = [Reasoning(token="think"), "Hi", " there",
             ToolCalls([{"id": "t1", "type": "function",
                         "function": {"name": "f", "arguments": '{"a":1}'}}]),
             FinishReason("tool_calls"), Usage(prompt_tokens=5, completion_tokens=3)]  # fmt: skip
    encoder = gateway_response.EventEncoder()
    out = b""
    for item in items:
        chunk = answer.add(item)
        if isinstance(item, Reasoning):
            encoder.signature("sig==")
        if chunk is not None and chunk.choices[0].finish_reason is None:
            out += encoder.encode(chunk)
    finishing = answer.finish_chunk("tool_calls")
    assert finishing is not None
    finishing.usage = answer.usage
    out += encoder.encode(finishing)
    events = _events(out)
    kinds = [(name, data.get("delta", {}).get("type") or data.get("content_block", {}).get("type"))
             for name, data in events]  # fmt: skip
    assert kinds == [
        ("message_start", None), ("ping", None),
        ("content_block_start", "thinking"), ("content_block_delta", "thinking_delta"),
        ("content_block_delta", "signature_delta"), ("content_block_stop", None),
        ("content_block_start", "text"), ("content_block_delta", "text_delta"),
        ("content_block_delta", "text_delta"), ("content_block_stop", None),
        ("content_block_start", "tool_use"), ("content_block_delta", "input_json_delta"),
        ("content_block_stop", None), ("message_delta", None), ("message_stop", None),
    ]  # fmt: skip
    assert all(name == data["type"] for name, data in events)
    indexes = [data["index"] for name, data in events if name.startswith("content_block")]
    assert indexes == [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2]
    delta = events[-2][1]
    assert delta["delta"] == {"stop_reason": "tool_use", "stop_sequence": None}
    assert delta["usage"]["input_tokens"] == 5
    assert delta["usage"]["output_tokens"] == 3
    error = _events(gateway_response.error_event("boom", "overloaded_error"))
    assert error == [("error", {"type": "error", "error": {"type": "overloaded_error",
                                                           "message": "boom"}})]  # fmt: skip
