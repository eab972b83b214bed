"""The OpenAI wire translation, byte for byte: payloads, stream parsing, tool-call assembly."""

from __future__ import annotations

import base64
import pathlib
from typing import Any

import pytest

from llmrelay.errors import InvalidRequestError, ResponseError
from llmrelay.protocols.openai.upstream import StreamParser, build_payload, parse_completion
from llmrelay.providers.media import load_media
from llmrelay.providers.response import FinishReason, Reasoning, ToolCalls, Usage

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
MESSAGES = [{"role": "user", "content": "look"}]


def test_payload_maps_parameters_and_drops_unset_ones() -> None:
    payload = build_payload(
        "m",
        [{"role": "system", "content": "s", "content_type": "text"}, *MESSAGES],
        stream=True,
        media=[],
        seed=3,
        temperature=0.2,
        max_tokens=None,
        stop=["x"],
    )
    assert payload == {
        "model": "m",
        "messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "look"}],
        "stream": True,
        "stream_options": {"include_usage": True},
        "seed": 3,
        "temperature": 0.2,
        "stop": ["x"],
    }


def test_non_streaming_payload_has_no_stream_keys() -> None:
    payload = build_payload("m", MESSAGES, stream=False, media=[])
    assert "stream" not in payload
    assert "stream_options" not in payload


def test_media_become_parts_of_the_last_user_message(tmp_path: pathlib.Path) -> None:
    image = tmp_path / "cat.png"
    image.write_bytes(PNG)
    media = load_media(
        [
            (PNG, None),
            (str(image), None),
            ("https://example.com/dog.jpg", None),
            ("data:image/gif;base64,R0lGODlh", "x.gif"),
            (b"%PDF-1.4 ...", "doc.pdf"),
        ]
    )
    messages = [{"role": "user", "content": "first"}, {"role": "assistant", "content": "ok"}]
    messages.append({"role": "user", "content": "what are these?"})
    payload = build_payload("m", messages, stream=False, media=media)
    assert payload["messages"][0] == {"role": "user", "content": "first"}
    parts = payload["messages"][2]["content"]
    png_uri = "data:image/png;base64," + base64.b64encode(PNG).decode()
    assert parts == [
        {"type": "text", "text": "what are these?"},
        {"type": "image_url", "image_url": {"url": png_uri}},
        {"type": "image_url", "image_url": {"url": png_uri}},
        {"type": "image_url", "image_url": {"url": "https://example.com/dog.jpg"}},
        {"type": "image_url", "image_url": {"url": "data:image/gif;base64,R0lGODlh"}},
        {
            "type": "file",
            "file": {
                "filename": "doc.pdf",
                "file_data": "data:application/pdf;base64,"
                + base64.b64encode(b"%PDF-1.4 ...").decode(),
            },
        },
    ]


@pytest.mark.parametrize(
    ("media", "fragment"),
    [
        ("cat.png", "must be a list"),
        (["/no/such/file.png"], r"is not a file, a data: URI or an http\(s\) URL"),
        (["ftp://host/x.png"], "scheme not accepted"),
        (["data:image/png,rawdata"], "must be base64"),
        ([(12, "x")], "unsupported media item of type int"),
    ],
)
def test_bad_media_is_refused_before_any_io(media: Any, fragment: str) -> None:
    with pytest.raises(InvalidRequestError, match=fragment):
        load_media(media)


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"response_format": {"type": "xml"}}, "not one of"),
        ({"response_format": {"type": "json_schema"}}, "needs {'json_schema'"),
        ({"response_format": "json"}, "must be an object"),
        ({"tools": [{"type": "code", "function": "get_weather"}]}, r"tools\[0\] must be"),
        ({"tools": {"type": "function"}}, "must be a list"),
    ],
)
def test_bad_structured_parameters_are_refused(kwargs: dict[str, Any], fragment: str) -> None:
    with pytest.raises(InvalidRequestError, match=fragment):
        build_payload("m", MESSAGES, stream=False, media=[], **kwargs)


def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "c",
        "object": "chat.completion.chunk",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def test_stream_parser_yields_text_reasoning_usage_and_finish() -> None:
    parser = StreamParser()
    out = []
    for data in [
        chunk({"role": "assistant", "content": ""}),
        chunk({"reasoning_content": "think"}),
        chunk({"reasoning": " more"}),
        chunk({"content": "Hel"}),
        chunk({"content": "lo"}),
        chunk({}, "stop"),
        {"id": "c", "choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 2}},
    ]:
        out.extend(parser.feed(data))
    assert out == [
        Reasoning(token="think"),
        Reasoning(token=" more"),
        "Hel",
        "lo",
        FinishReason("stop"),
        Usage(prompt_tokens=3, completion_tokens=2),
    ]
    assert parser.close() == []


def test_tool_calls_are_assembled_from_fragments() -> None:
    parser = StreamParser()
    fragments = [
        {"index": 0, "id": "call_a", "type": "function", "function": {"name": "get_weather"}},
        {"index": 1, "id": "call_b", "type": "function", "function": {"name": "get_time"}},
        {"index": 0, "function": {"arguments": '{"city": '}},
        {"index": 1, "function": {"arguments": "{}"}},
        {"index": 0, "function": {"arguments": '"Paris"}'}},
    ]
    out = []
    for fragment in fragments:
        out.extend(parser.feed(chunk({"tool_calls": [fragment]})))
    assert out == []  # nothing until the calls are complete
    out = parser.feed(chunk({}, "tool_calls"))
    assert out == [
        ToolCalls(
            [
                {
                    "id": "call_a",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                },
                {
                    "id": "call_b",
                    "type": "function",
                    "function": {"name": "get_time", "arguments": "{}"},
                },
            ]
        ),
        FinishReason("tool_calls"),
    ]


def test_tool_calls_without_finish_reason_are_reported_at_done() -> None:
    parser = StreamParser()
    parser.feed(chunk({"tool_calls": [{"index": 0, "id": "x", "function": {"name": "f"}}]}))
    closing = parser.close()
    assert isinstance(closing[0], ToolCalls)
    assert closing[1] == FinishReason("stop")


def test_parse_completion() -> None:
    data = {
        "object": "chat.completion",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Hi", "reasoning_content": "hmm"},
                "finish_reason": "length",
            }
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }
    assert parse_completion(data) == [
        Reasoning(token="hmm"),
        "Hi",
        FinishReason("length"),
        Usage(prompt_tokens=1, completion_tokens=1, total_tokens=2),
    ]
    with pytest.raises(ResponseError, match="no choices"):
        parse_completion({"object": "chat.completion", "choices": []})
