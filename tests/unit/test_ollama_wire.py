"""Ollama's native wire translation, byte for byte: payloads, messages, NDJSON answer parsing,
and `OLLAMA_HOST` as Ollama reads it."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from llmrelay.errors import IncompleteResponseError, InvalidMessagesError, InvalidRequestError
from llmrelay.protocols.ollama.upstream import (
    StreamParser,
    build_messages,
    build_payload,
    parse_host,
    parse_response,
)
from llmrelay.providers.media import load_media
from llmrelay.providers.response import FinishReason, Reasoning, ToolCalls, Usage

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
PNG_B64 = base64.b64encode(PNG).decode()
MESSAGES = [{"role": "user", "content": "look"}]


def payload(messages: list[dict[str, Any]] = MESSAGES, **params: Any) -> dict[str, Any]:
    return build_payload("llama3.2", messages, **{"stream": True, "media": [], **params})


# -- request ----------------------------------------------------------------------------------


def test_payload_maps_parameters_into_options() -> None:
    assert payload(
        stream=False,
        seed=3,
        temperature=0.2,
        top_p=0.9,
        top_k=None,
        max_tokens=64,
        stop="END",
        think="high",
        keep_alive="10m",
    ) == {
        "model": "llama3.2",
        "messages": [{"role": "user", "content": "look"}],
        "stream": False,
        "think": "high",
        "keep_alive": "10m",
        "options": {"seed": 3, "temperature": 0.2, "top_p": 0.9, "num_predict": 64,
                    "stop": ["END"]},
    }  # fmt: skip


def test_stream_is_always_explicit_and_nothing_unset_is_sent() -> None:
    assert payload() == {"model": "llama3.2", "messages": MESSAGES, "stream": True}
    assert payload(stream=False)["stream"] is False  # Ollama streams unless told not to
    assert payload(think=False)["think"] is False


def test_raw_options_are_merged_under_the_named_parameters() -> None:
    sent = payload(options={"num_ctx": 8192, "temperature": 1.0}, temperature=0.1, stop=["a"])
    assert sent["options"] == {"num_ctx": 8192, "temperature": 0.1, "stop": ["a"]}
    with pytest.raises(InvalidRequestError, match="options"):
        payload(options=[("num_ctx", 1)])


@pytest.mark.parametrize("think", [1, ["high"], {"level": "high"}])
def test_think_must_be_a_bool_or_a_level(think: Any) -> None:
    with pytest.raises(InvalidRequestError, match="think"):
        payload(think=think)


def test_response_format_becomes_format() -> None:
    assert payload(response_format={"type": "json_object"})["format"] == "json"
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}}
    as_schema = {"type": "json_schema", "json_schema": {"name": "r", "schema": schema}}
    assert payload(response_format=as_schema)["format"] == schema
    no_schema = {"type": "json_schema", "json_schema": {"name": "r"}}
    assert payload(response_format=no_schema)["format"] == "json"
    assert "format" not in payload(response_format={"type": "text"})
    with pytest.raises(InvalidRequestError):
        payload(response_format={"type": "xml"})


TOOL = {"type": "function", "function": {"name": "get_weather", "parameters": {}}}


def test_tools_and_tool_choice() -> None:
    assert payload(tools=[TOOL])["tools"] == [TOOL]
    assert payload(tools=[TOOL], tool_choice="auto")["tools"] == [TOOL]
    assert "tools" not in payload(tools=[TOOL], tool_choice="none")
    with pytest.raises(InvalidRequestError, match="cannot force a tool call"):
        payload(tools=[TOOL], tool_choice="required")
    forced = {"type": "function", "function": {"name": "get_weather"}}
    with pytest.raises(InvalidRequestError, match="cannot force"):
        payload(tools=[TOOL], tool_choice=forced)
    with pytest.raises(InvalidRequestError, match="tools"):
        payload(tools=[{"name": "get_weather"}])


def test_roles_pass_through_and_developer_is_system() -> None:
    messages = [
        {"role": "developer", "content": "Be brief."},
        {"role": "system", "content": "No emoji."},
        {"role": "user", "content": "One?", "name": "ann"},
        {"role": "assistant", "content": "Two.", "reasoning_content": "counting"},
        {"role": "assistant", "content": None, "tool_calls": []},
    ]
    assert build_messages(messages, []) == [
        {"role": "system", "content": "Be brief."},
        {"role": "system", "content": "No emoji."},
        {"role": "user", "content": "One?"},
        {"role": "assistant", "content": "Two.", "thinking": "counting"},
        {"role": "assistant", "content": ""},
    ]


def test_content_parts_become_text_and_raw_base64_images() -> None:
    content = [
        {"type": "text", "text": "What is"},
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG_B64}"}},
        {"type": "text", "text": "this?"},
        {"type": "image_url", "image_url": "data:image/jpeg;base64,/9j/4AAQ"},
    ]
    assert build_messages([{"role": "user", "content": content}], []) == [
        {"role": "user", "content": "What is\nthis?", "images": [PNG_B64, "/9j/4AAQ"]}
    ]


@pytest.mark.parametrize(
    "part",
    [
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
        {"type": "image_url", "image_url": {"url": "http://example.com/cat.png"}},
    ],
)
def test_image_urls_are_refused_not_fetched(part: dict[str, Any]) -> None:
    with pytest.raises(InvalidMessagesError, match=r"messages\[0\].content\[0\].*not URLs"):
        build_messages([{"role": "user", "content": [part]}], [])


def test_parts_ollama_cannot_take_are_refused() -> None:
    audio = {"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}}
    with pytest.raises(InvalidMessagesError, match="no 'input_audio' part"):
        build_messages([{"role": "user", "content": [audio]}], [])
    pdf = {"type": "image_url", "image_url": {"url": "data:application/pdf;base64,JVBERi0="}}
    with pytest.raises(InvalidRequestError, match="images only"):
        build_messages([{"role": "user", "content": [pdf]}], [])


def test_media_are_added_to_the_last_user_message() -> None:
    messages = [
        {"role": "user", "content": "first"},
        {"role": "user", "content": [{"type": "image_url",
                                      "image_url": {"url": "data:image/gif;base64,R0lG"}}]},
        {"role": "assistant", "content": "ok"},
    ]  # fmt: skip
    wire = build_messages(messages, load_media([(PNG, "dot.png")]))
    assert wire[0] == {"role": "user", "content": "first"}
    assert wire[1]["images"] == ["R0lG", PNG_B64]
    with pytest.raises(InvalidRequestError, match="URLs"):
        build_messages(MESSAGES, load_media(["https://example.com/cat.png"]))
    with pytest.raises(InvalidRequestError, match="images only"):
        build_messages(MESSAGES, load_media([(b"%PDF-1.4", "doc.pdf")]))
    with pytest.raises(InvalidRequestError, match="user message"):
        build_messages([{"role": "system", "content": "s"}], load_media([(PNG, None)]))


def test_tool_calls_and_results() -> None:
    messages = [
        {"role": "user", "content": "Weather and time?"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_a", "type": "function",
             "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}},
            {"id": "call_b", "type": "function", "function": {"name": "get_time",
                                                             "arguments": ""}},
        ]},
        {"role": "tool", "tool_call_id": "call_b", "content": "noon"},
        {"role": "tool", "tool_call_id": "call_a", "content": [{"type": "text", "text": "Sunny"}]},
        {"role": "tool", "tool_call_id": "unknown", "content": "?"},
    ]  # fmt: skip
    assert build_messages(messages, [])[1:] == [
        {"role": "assistant", "content": "", "tool_calls": [
            {"function": {"name": "get_weather", "arguments": {"city": "Paris"}}, "id": "call_a"},
            {"function": {"name": "get_time", "arguments": {}}, "id": "call_b"},
        ]},
        {"role": "tool", "content": "noon", "tool_name": "get_time", "tool_call_id": "call_b"},
        {"role": "tool", "content": "Sunny", "tool_name": "get_weather",
         "tool_call_id": "call_a"},
        {"role": "tool", "content": "?", "tool_call_id": "unknown"},
    ]  # fmt: skip


def test_legacy_function_messages_become_tool_messages() -> None:
    message = {"role": "function", "name": "get_time", "content": "noon"}
    assert build_messages([message], []) == [
        {"role": "tool", "content": "noon", "tool_name": "get_time"}
    ]


@pytest.mark.parametrize("arguments", ["not json", "[1, 2]", '"text"'])
def test_tool_call_arguments_must_be_a_json_object(arguments: str) -> None:
    call = {"id": "c", "type": "function", "function": {"name": "f", "arguments": arguments}}
    with pytest.raises(InvalidMessagesError, match=r"messages\[0\].tool_calls\[0\]"):
        build_messages([{"role": "assistant", "content": None, "tool_calls": [call]}], [])


# -- OLLAMA_HOST ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "url"),
    [
        ("", "http://127.0.0.1:11434"),
        ("1.2.3.4", "http://1.2.3.4:11434"),
        (":56789", "http://127.0.0.1:56789"),
        ("0.0.0.0:11434", "http://0.0.0.0:11434"),
        ("example.com:56789/", "http://example.com:56789"),
        ("example.com/path/", "http://example.com:11434/path"),
        ("http://example.com", "http://example.com"),
        ("https://ollama.com", "https://ollama.com"),
        ("https://example.com:56789/path", "https://example.com:56789/path"),
        ("[::1]", "http://[::1]:11434"),
        ("[::1]:56789", "http://[::1]:56789"),
        ("  localhost:11434  ", "http://localhost:11434"),
    ],
)
def test_parse_host(value: str, url: str) -> None:
    assert parse_host(value) == url


@pytest.mark.parametrize("value", ["ftp://example.com", "example.com:port", "unix:///x.sock"])
def test_parse_host_refuses_what_is_not_http(value: str) -> None:
    with pytest.raises(InvalidRequestError):
        parse_host(value)


# -- response ---------------------------------------------------------------------------------


def answer(message: dict[str, Any], **final: Any) -> dict[str, Any]:
    return {"model": "m", "created_at": "2025-01-01T00:00:00Z",
            "message": {"role": "assistant", **message}, "done": False, **final}  # fmt: skip


def test_stream_of_thinking_text_and_the_final_object() -> None:
    parser = StreamParser()
    chunks = [
        *parser.feed(answer({"content": "", "thinking": "Hm"})),
        *parser.feed(answer({"content": "Hello"})),
        *parser.feed(answer({"content": ""})),
        *parser.feed(answer({"content": " world"})),
    ]
    assert not parser.done
    chunks += parser.feed(
        answer({"content": ""}, done=True, done_reason="stop", prompt_eval_count=7, eval_count=2)
    )
    assert parser.done
    reasoning, *rest = chunks
    assert isinstance(reasoning, Reasoning)  # (Reasoning has no __eq__)
    assert reasoning.token == "Hm"
    assert rest == [
        "Hello",
        " world",
        FinishReason("stop"),
        Usage(prompt_tokens=7, completion_tokens=2, total_tokens=9),
    ]


def test_tool_calls_come_as_one_openai_chunk_before_the_finish() -> None:
    parser = StreamParser()
    first = {"function": {"index": 0, "name": "get_weather", "arguments": {"city": "Paris"}}}
    second = {"id": "call_srv", "function": {"name": "get_time", "arguments": {}}}
    assert parser.feed(answer({"content": "", "tool_calls": [first]})) == []
    assert parser.feed(answer({"content": "", "tool_calls": [second]})) == []
    chunks = parser.feed(answer({"content": ""}, done=True, done_reason="stop"))
    assert chunks == [
        ToolCalls([
            {"id": "call_0", "type": "function",
             "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}},
            {"id": "call_srv", "type": "function",
             "function": {"name": "get_time", "arguments": "{}"}},
        ]),
        FinishReason("tool_calls"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("done_reason", "finish"),
    [("stop", "stop"), ("length", "length"), ("load", "stop"), ("unload", "stop"),
     (None, "stop"), ("", "stop"), ("something_new", "something_new")],
)  # fmt: skip
def test_done_reasons(done_reason: str | None, finish: str) -> None:
    final = {} if done_reason is None else {"done_reason": done_reason}
    assert parse_response(answer({"content": ""}, done=True, **final)) == [FinishReason(finish)]


def test_usage_when_only_one_count_is_reported() -> None:
    chunks = parse_response(answer({"content": "x"}, done=True, eval_count=4))
    assert chunks[-1] == Usage(prompt_tokens=0, completion_tokens=4, total_tokens=4)


def test_whole_answer() -> None:
    data = answer(
        {"content": "42", "thinking": "Six times seven.",
         "tool_calls": [{"function": {"name": "f", "arguments": {"x": [1, 2]}}}]},
        done=True, done_reason="stop", prompt_eval_count=3, eval_count=5,
    )  # fmt: skip
    reasoning, *rest = parse_response(data)
    assert isinstance(reasoning, Reasoning)
    assert reasoning.token == "Six times seven."
    assert rest == [
        "42",
        ToolCalls([{"id": "call_0", "type": "function",
                    "function": {"name": "f", "arguments": '{"x": [1, 2]}'}}]),
        FinishReason("tool_calls"),
        Usage(prompt_tokens=3, completion_tokens=5, total_tokens=8),
    ]  # fmt: skip


def test_a_whole_answer_not_marked_done_is_incomplete() -> None:
    with pytest.raises(IncompleteResponseError, match="not marked done"):
        parse_response(answer({"content": "Hel"}))
