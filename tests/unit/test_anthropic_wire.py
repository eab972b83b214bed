"""The Anthropic Messages translation: payloads from OpenAI-shaped input, and every stream event
turned into llmrelay chunks."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from llmrelay.errors import InvalidMessagesError, InvalidRequestError, ResponseError
from llmrelay.protocols.anthropic.upstream_request import (
    JSON_OBJECT_INSTRUCTION,
    WEB_SEARCH_TOOL,
    build_payload,
)
from llmrelay.protocols.anthropic.upstream_response import StreamParser, parse_message
from llmrelay.providers.media import load_media
from llmrelay.providers.response import FinishReason, Reasoning, Sources, ToolCalls, Usage

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
PNG_B64 = base64.b64encode(PNG).decode()
USER = [{"role": "user", "content": "Hi"}]
TOOL = {"type": "function", "function": {"name": "f", "description": "d",
                                         "parameters": {"type": "object"}}}  # fmt: skip


def payload(messages: list[dict[str, Any]] = USER, **options: Any) -> dict[str, Any]:
    options.setdefault("stream", False)
    options["media"] = load_media(options.get("media"))
    return build_payload("claude-x", messages, **options)


def text(content: str) -> dict[str, str]:
    return {"type": "text", "text": content}


# -- requests ---------------------------------------------------------------------------------


def test_parameters_map_and_max_tokens_defaults() -> None:
    body = payload(stream=True, stop="END", temperature=0.3, top_p=None, user="u-1")
    assert body == {
        "model": "claude-x", "max_tokens": 4096, "messages": [{"role": "user",
                                                               "content": [text("Hi")]}],
        "stream": True, "stop_sequences": ["END"], "temperature": 0.3,
        "metadata": {"user_id": "u-1"},
    }  # fmt: skip
    assert payload(max_tokens=5, stop=["a", "b"])["stop_sequences"] == ["a", "b"]
    assert payload(max_tokens=5)["max_tokens"] == 5


@pytest.mark.parametrize("bad", [0, -1, True, 1.5, "10"])
def test_max_tokens_must_be_a_positive_integer(bad: Any) -> None:
    with pytest.raises(InvalidRequestError, match="max_tokens"):
        payload(max_tokens=bad)


def test_system_and_developer_messages_are_lifted_wherever_they_stand() -> None:
    body = payload([
        {"role": "system", "content": "Be brief."}, *USER,
        {"role": "developer", "content": [text("No lists.")]},
    ])  # fmt: skip
    assert body["system"] == "Be brief.\n\nNo lists."
    assert body["messages"] == [{"role": "user", "content": [text("Hi")]}]


def test_a_system_message_with_an_image_is_refused() -> None:
    part = {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG_B64}"}}
    with pytest.raises(InvalidMessagesError, match=r"messages\[0\].*text only"):
        payload([{"role": "system", "content": [part]}, *USER])


def test_consecutive_turns_of_one_role_are_merged() -> None:
    body = payload(
        [
            *USER,
            {"role": "user", "content": "again"},
            {"role": "assistant", "content": "a"},
            {"role": "assistant", "content": "b"},
        ]
    )
    assert body["messages"] == [
        {"role": "user", "content": [text("Hi"), text("again")]},
        {"role": "assistant", "content": [text("a"), text("b")]},
    ]  # fmt: skip


def test_tool_calls_and_results_become_blocks_with_results_first() -> None:
    call = {"id": "toolu_1", "type": "function",
            "function": {"name": "f", "arguments": '{"x": 1}'}}  # fmt: skip
    empty = {"id": "toolu_2", "type": "function", "function": {"name": "g", "arguments": ""}}
    body = payload([
        *USER,
        {"role": "assistant", "content": "Calling.", "tool_calls": [call, empty]},
        {"role": "user", "content": "(meanwhile)"},
        {"role": "tool", "tool_call_id": "toolu_1", "content": "one"},
        {"role": "tool", "tool_call_id": "toolu_2", "content": [text("two")]},
    ], tools=[TOOL])  # fmt: skip
    assert body["messages"][1:] == [
        {"role": "assistant", "content": [
            text("Calling."),
            {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {"x": 1}},
            {"type": "tool_use", "id": "toolu_2", "name": "g", "input": {}},
        ]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_1", "content": "one"},
            {"type": "tool_result", "tool_use_id": "toolu_2", "content": [text("two")]},
            text("(meanwhile)"),
        ]},
    ]  # fmt: skip


@pytest.mark.parametrize("arguments", ["{oops", "[1, 2]"])
def test_tool_call_arguments_must_be_a_json_object(arguments: str) -> None:
    call = {"id": "t", "type": "function", "function": {"name": "f", "arguments": arguments}}
    with pytest.raises(InvalidMessagesError, match=r"messages\[1\]\.tool_calls\[0\]"):
        payload([*USER, {"role": "assistant", "content": None, "tool_calls": [call]}])


def test_a_signed_reasoning_goes_back_as_a_thinking_block_and_unsigned_is_dropped() -> None:
    signed = {"role": "assistant", "content": "42", "reasoning_content": "6*7",
              "reasoning": {"signature": "sig"}}  # fmt: skip
    unsigned = {"role": "assistant", "content": "43", "reasoning_content": "guess"}
    body = payload([*USER, signed, {"role": "user", "content": "?"}, unsigned])
    assert body["messages"][1]["content"] == [
        {"type": "thinking", "thinking": "6*7", "signature": "sig"}, text("42"),
    ]  # fmt: skip
    assert body["messages"][3]["content"] == [text("43")]


def test_images_pdfs_and_text_become_blocks() -> None:
    parts = [
        text("Look"),
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG_B64}"}},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}},
        {"type": "file", "file": {"file_data": "data:application/pdf;base64,JVBERi0="}},
    ]
    media = [(PNG, "dot.png"), (b"%PDF-1.4", "doc.pdf"), (b"plain words", "notes.txt"),
             ("https://example.com/paper.pdf", None)]  # fmt: skip
    content = payload([{"role": "user", "content": parts}], media=media)["messages"][0]["content"]
    png = {"type": "base64", "media_type": "image/png", "data": PNG_B64}
    pdf = {"type": "base64", "media_type": "application/pdf",
           "data": base64.b64encode(b"%PDF-1.4").decode()}  # fmt: skip
    assert content == [
        text("Look"),
        {"type": "image", "source": png},
        {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}},
        {"type": "document", "source": {"type": "base64", "media_type": "application/pdf",
                                        "data": "JVBERi0="}},
        {"type": "image", "source": png},
        {"type": "document", "source": pdf},
        {"type": "document", "source": {"type": "text", "media_type": "text/plain",
                                        "data": "plain words"}},
        {"type": "document", "source": {"type": "url", "url": "https://example.com/paper.pdf"}},
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("part", "match"),
    [
        ({"type": "image_url", "image_url": {"url": "http://example.com/a.png"}}, "https"),
        ({"type": "image_url", "image_url": {"url": "/etc/passwd"}}, "data: URI or an https"),
        ({"type": "input_audio", "input_audio": {"data": "AA==", "format": "wav"}}, "input_audio"),
        ({"type": "file", "file": {"file_id": "file-1"}}, "file_data"),
    ],
)
def test_parts_anthropic_cannot_take_are_refused(part: dict[str, Any], match: str) -> None:
    with pytest.raises(InvalidRequestError, match=match):
        payload([{"role": "user", "content": [part]}])


def test_media_of_other_types_and_without_a_user_turn_is_refused() -> None:
    with pytest.raises(InvalidRequestError, match="audio/wav"):
        payload(media=[(b"RIFF\x00\x00\x00\x00WAVE", "a.wav")])
    with pytest.raises(InvalidRequestError, match="user message"):
        payload([{"role": "assistant", "content": "x"}], media=[(PNG, "a.png")])


def test_messages_anthropic_cannot_take_are_refused() -> None:
    with pytest.raises(InvalidMessagesError, match="'function'"):
        payload([{"role": "function", "name": "f", "content": "x"}])
    with pytest.raises(InvalidMessagesError, match=r"messages\[0\]: empty content"):
        payload([{"role": "user", "content": ""}])
    with pytest.raises(InvalidMessagesError, match="at least one"):
        payload([{"role": "system", "content": "only this"}])


def test_an_empty_final_assistant_turn_is_dropped() -> None:
    body = payload([*USER, {"role": "assistant", "content": ""}])
    assert [m["role"] for m in body["messages"]] == ["user"]


def test_tools_tool_choice_and_web_search() -> None:
    bare = {"type": "function", "function": {"name": "g"}}
    body = payload(tools=[TOOL, bare], tool_choice="required", web_search=True)
    assert body["tools"] == [
        {"name": "f", "input_schema": {"type": "object"}, "description": "d"},
        {"name": "g", "input_schema": {"type": "object", "properties": {}}},
        WEB_SEARCH_TOOL,
    ]
    assert body["tool_choice"] == {"type": "any"}
    named = {"type": "function", "function": {"name": "f"}}
    assert payload(tools=[TOOL], tool_choice=named)["tool_choice"] == {"type": "tool", "name": "f"}
    assert payload(tools=[TOOL], tool_choice="none")["tool_choice"] == {"type": "none"}
    assert "tool_choice" not in payload(tool_choice="auto")
    assert payload(web_search=True)["tools"] == [WEB_SEARCH_TOOL]


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"tool_choice": "required"}, "needs tools"),
        ({"tools": [TOOL], "tool_choice": "sometimes"}, "tool_choice"),
        ({"tools": [{"type": "function"}]}, r"tools\[0\]"),
        ({"response_format": {"type": "xml"}}, "response_format"),
        ({"thinking": "on"}, "thinking"),
    ],
)
def test_bad_options_are_refused(options: dict[str, Any], match: str) -> None:
    with pytest.raises(InvalidRequestError, match=match):
        payload(**options)


def test_response_formats() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}}
    json_schema = {"type": "json_schema", "json_schema": {"name": "r", "schema": schema}}
    body = payload(response_format=json_schema)
    assert body["output_config"] == {"format": {"type": "json_schema", "schema": schema}}
    assert "system" not in body
    body = payload([{"role": "system", "content": "S"}, *USER],
                   response_format={"type": "json_object"})  # fmt: skip
    assert body["system"] == f"S\n\n{JSON_OBJECT_INSTRUCTION}"
    assert "output_config" not in body
    assert payload(response_format={"type": "text"}).keys() == payload().keys()


def test_thinking_is_passed_on_and_max_tokens_leaves_room_for_its_budget() -> None:
    small = {"type": "enabled", "budget_tokens": 1024}
    assert payload(thinking=small)["thinking"] == small
    assert payload(thinking=small)["max_tokens"] == 4096
    assert payload(thinking={"type": "enabled", "budget_tokens": 8000})["max_tokens"] == 12096
    assert payload(thinking={"type": "adaptive"})["max_tokens"] == 4096


# -- responses --------------------------------------------------------------------------------


def feed_all(events: list[dict[str, Any]]) -> tuple[list[Any], StreamParser]:
    parser = StreamParser()
    return [chunk for event in events for chunk in parser.feed(event)], parser


def start(index: int, block: dict[str, Any]) -> dict[str, Any]:
    return {"type": "content_block_start", "index": index, "content_block": block}


def delta(index: int, **fields: Any) -> dict[str, Any]:
    return {"type": "content_block_delta", "index": index, "delta": fields}


def stop(index: int) -> dict[str, Any]:
    return {"type": "content_block_stop", "index": index}


def message_start(**usage: int) -> dict[str, Any]:
    usage = {"input_tokens": 10, "output_tokens": 1, **usage}
    return {"type": "message_start", "message": {"type": "message", "content": [],
                                                 "usage": usage}}  # fmt: skip


def message_delta(stop_reason: str | None, **usage: int) -> dict[str, Any]:
    return {"type": "message_delta", "delta": {"stop_reason": stop_reason}, "usage": usage}


def usage(prompt: int, completion: int, created: int = 0, read: int = 0) -> Usage:
    return Usage(prompt_tokens=prompt, completion_tokens=completion,
                 total_tokens=prompt + completion, input_tokens=prompt - created - read,
                 cache_creation_input_tokens=created, cache_read_input_tokens=read,
                 prompt_tokens_details={"cached_tokens": read})  # fmt: skip


def test_a_whole_stream_of_every_block_kind() -> None:
    chunks, parser = feed_all([
        message_start(), {"type": "ping"},
        start(0, {"type": "thinking", "thinking": "", "signature": ""}),
        delta(0, type="thinking_delta", thinking="Let me "),
        delta(0, type="thinking_delta", thinking="see."),
        delta(0, type="signature_delta", signature="EqQB"),
        stop(0),
        start(1, {"type": "text", "text": ""}),
        delta(1, type="text_delta", text="Calling"),
        delta(1, type="text_delta", text=" now."),
        stop(1),
        start(2, {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}}),
        delta(2, type="input_json_delta", partial_json=""),
        delta(2, type="input_json_delta", partial_json='{"city": '),
        delta(2, type="input_json_delta", partial_json='"Paris"}'),
        stop(2),
        start(3, {"type": "tool_use", "id": "toolu_2", "name": "g", "input": {}}),
        stop(3),
        message_delta("tool_use", output_tokens=30),
    ])  # fmt: skip
    assert chunks == [
        Reasoning(token="Let me "), Reasoning(token="see."), Reasoning(signature="EqQB"),
        "Calling", " now.",
        ToolCalls([
            {"id": "toolu_1", "type": "function",
             "function": {"name": "f", "arguments": '{"city": "Paris"}'}},
            {"id": "toolu_2", "type": "function", "function": {"name": "g", "arguments": "{}"}},
        ]),
        FinishReason("tool_calls"),
        usage(10, 30),
    ]  # fmt: skip
    assert not parser.done
    assert parser.feed({"type": "message_stop"}) == []
    assert parser.done


@pytest.mark.parametrize(
    ("stop_reason", "finish"),
    [("end_turn", "stop"), ("stop_sequence", "stop"), ("pause_turn", "stop"),
     ("max_tokens", "length"), ("model_context_window_exceeded", "length"),
     ("tool_use", "tool_calls"), ("refusal", "content_filter"), (None, "stop"),
     ("something_new", "stop")],
)  # fmt: skip
def test_stop_reasons(stop_reason: str | None, finish: str) -> None:
    chunks, _ = feed_all([message_start(), message_delta(stop_reason, output_tokens=1)])
    assert chunks[0] == FinishReason(finish)


def test_usage_counts_cache_tokens_in_the_prompt() -> None:
    chunks, _ = feed_all([
        message_start(input_tokens=5, cache_creation_input_tokens=100, cache_read_input_tokens=7),
        message_delta("end_turn", output_tokens=12),
    ])  # fmt: skip
    assert chunks[-1] == usage(112, 12, created=100, read=7)


def test_cumulative_usage_in_message_delta_wins() -> None:
    chunks, _ = feed_all(
        [message_start(input_tokens=5), message_delta("end_turn", input_tokens=9, output_tokens=3)]
    )
    assert chunks[-1] == usage(9, 3)


def test_message_stop_without_message_delta_still_finishes_once() -> None:
    chunks, parser = feed_all([
        message_start(), start(0, {"type": "tool_use", "id": "t", "name": "f", "input": {}}),
        stop(0), {"type": "message_stop"}, {"type": "message_stop"},
    ])  # fmt: skip
    assert [type(c) for c in chunks] == [ToolCalls, FinishReason, Usage]
    assert chunks[1] == FinishReason("tool_calls")
    assert parser.done


def test_web_search_citations_become_sources_and_server_tools_are_not_tool_calls() -> None:
    result = {"type": "web_search_result", "url": "https://a.example", "title": "A"}
    cited = {"type": "web_search_result_location", "url": "https://b.example", "title": "B",
             "cited_text": "…", "encrypted_index": "x"}  # fmt: skip
    chunks, _ = feed_all([
        message_start(),
        start(0, {"type": "server_tool_use", "id": "srv_1", "name": "web_search", "input": {}}),
        delta(0, type="input_json_delta", partial_json='{"query": "q"}'), stop(0),
        start(1, {"type": "web_search_tool_result", "tool_use_id": "srv_1",
                  "content": [result, {**result, "url": "https://b.example"}]}), stop(1),
        start(2, {"type": "text", "text": "", "citations": []}),
        delta(2, type="citations_delta", citation=cited),
        delta(2, type="citations_delta", citation=cited),
        delta(2, type="citations_delta", citation={"type": "char_location", "cited_text": "x"}),
        delta(2, type="text_delta", text="Sunny."), stop(2),
        message_delta("end_turn", output_tokens=5),
    ])  # fmt: skip
    assert chunks[0] == "Sunny."
    assert isinstance(chunks[1], Sources)
    assert chunks[1].list == [{"url": "https://b.example", "title": "B"}]
    assert chunks[2] == FinishReason("stop")


def test_search_results_are_the_sources_when_nothing_is_cited() -> None:
    results = [
        {"type": "web_search_result", "url": "https://a.example", "title": "A"},
        {"type": "web_search_tool_result_error", "error_code": "unavailable"},
    ]
    chunks, _ = feed_all([
        message_start(),
        start(0, {"type": "web_search_tool_result", "tool_use_id": "s", "content": results}),
        stop(0), message_delta("end_turn", output_tokens=1),
    ])  # fmt: skip
    [sources] = [c for c in chunks if isinstance(c, Sources)]
    assert sources.list == [{"url": "https://a.example", "title": "A"}]


def test_unknown_events_and_deltas_are_ignored() -> None:
    chunks, _ = feed_all([
        message_start(), {"type": "something_new", "x": 1},
        start(0, {"type": "redacted_thinking", "data": "opaque"}), stop(0),
        start(1, {"type": "text", "text": ""}), delta(1, type="new_delta", value=1),
        delta(1, type="text_delta", text="ok"), stop(1),
    ])  # fmt: skip
    assert chunks == ["ok"]


def test_a_whole_message_parses_as_its_stream_would() -> None:
    message = {
        "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-x",
        "content": [
            {"type": "thinking", "thinking": "Hmm.", "signature": "sig"},
            {"type": "text", "text": "Answer", "citations": None},
            {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {"a": [1]}},
        ],
        "stop_reason": "tool_use", "stop_sequence": None,
        "usage": {"input_tokens": 4, "output_tokens": 6, "cache_read_input_tokens": 2},
    }  # fmt: skip
    assert parse_message(message) == [
        Reasoning(token="Hmm."), Reasoning(signature="sig"), "Answer",
        ToolCalls([{"id": "toolu_1", "type": "function",
                    "function": {"name": "f", "arguments": '{"a": [1]}'}}]),
        FinishReason("tool_calls"), usage(6, 6, read=2),
    ]  # fmt: skip


def test_a_body_that_is_not_a_message_is_an_error() -> None:
    with pytest.raises(ResponseError, match="not a message"):
        parse_message({"type": "completion", "completion": "x"})
