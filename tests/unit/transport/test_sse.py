"""Tests for llmrelay.transport.sse: the WHATWG event-stream rules, chunking, limits."""

from __future__ import annotations

import itertools
import json
from typing import NamedTuple

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llmrelay.transport.sse import ServerSentEvent, SSEDecoder, SSEEventTooLargeError

E = ServerSentEvent


def decode(stream: bytes, chunk_size: int | None = None) -> list[ServerSentEvent]:
    """Feed ``stream`` whole (or in ``chunk_size`` pieces), then flush."""
    decoder = SSEDecoder()
    events: list[ServerSentEvent] = []
    if chunk_size is None:
        events += decoder.feed(stream)
    else:
        for start in range(0, len(stream), chunk_size):
            events += decoder.feed(stream[start : start + chunk_size])
    events += decoder.flush()
    return events


def decode_split(stream: bytes, cuts: list[int]) -> list[ServerSentEvent]:
    decoder = SSEDecoder()
    events: list[ServerSentEvent] = []
    bounds = [0, *sorted(cuts), len(stream)]
    for start, end in itertools.pairwise(bounds):
        events += decoder.feed(stream[start:end])
    return events + decoder.flush()


RULES: list[tuple[str, bytes, list[ServerSentEvent]]] = [
    # line endings
    ("lf", b"data: a\n\n", [E(data="a")]),
    ("crlf", b"data: a\r\n\r\n", [E(data="a")]),
    ("cr", b"data: a\r\r", [E(data="a")]),
    ("mixed", b"data: a\r\ndata: b\rdata: c\n\r\n", [E(data="a\nb\nc")]),
    ("cr then crlf blank", b"data: a\r\r\ndata: b\n\n", [E(data="a"), E(data="b")]),
    ("lf cr is two breaks", b"data: a\n\rdata: b\n\n", [E(data="a"), E(data="b")]),
    (
        "other ascii controls are not breaks",
        b"data: a\x0bb\x0cc\x1cd\n\n",
        [E(data="a\x0bb\x0cc\x1cd")],
    ),
    ("nel and ls are not breaks", "data: a\x85b\u2028c\n\n".encode(), [E(data="a\x85b\u2028c")]),
    # comments
    ("comment", b": hello\ndata: a\n:\n\n", [E(data="a")]),
    ("comment only block", b": keep-alive\n\n", []),
    ("comment with colon inside", b":data: x\n\n", []),
    # data
    ("multi-line data", b"data: a\ndata: b\ndata: c\n\n", [E(data="a\nb\nc")]),
    ("data no space", b"data:a\n\n", [E(data="a")]),
    ("only one space stripped", b"data:  a\n\n", [E(data=" a")]),
    ("tab not stripped", b"data:\ta\n\n", [E(data="\ta")]),
    ("trailing space kept", b"data: a \n\n", [E(data="a ")]),
    ("colon in value", b"data: a:b: c\n\n", [E(data="a:b: c")]),
    ("value starting with colon", b"data::x\n\n", [E(data=":x")]),
    ("empty data then blank", b"data:\n\n", [E(data="")]),
    ("empty data with space", b"data: \n\n", [E(data="")]),
    ("data with no colon", b"data\n\n", [E(data="")]),
    ("two empty data lines", b"data\ndata:\n\n", [E(data="\n")]),
    ("empty data between lines", b"data: a\ndata:\ndata: b\n\n", [E(data="a\n\nb")]),
    ("json data", b'data: {"x": [1, 2]}\n\n', [E(data='{"x": [1, 2]}')]),
    ("blank lines alone", b"\n\n\r\n\r\r", []),
    ("two events", b"data: a\n\ndata: b\n\n", [E(data="a"), E(data="b")]),
    ("extra blank lines between", b"data: a\n\n\n\ndata: b\n\n", [E(data="a"), E(data="b")]),
    ("invalid utf-8 replaced", b"data: \xff\xfe ok\n\n", [E(data="\ufffd\ufffd ok")]),
    ("truncated utf-8 replaced", b"data: \xc3\n\n", [E(data="\ufffd")]),
    ("utf-8 kept", "data: é 😀 中\n\n".encode(), [E(data="é 😀 中")]),
    # event type
    ("event name", b"event: add\ndata: 1\n\n", [E("add", "1")]),
    ("event after data", b"data: 1\nevent: add\n\n", [E("add", "1")]),
    ("last event field wins", b"event: a\nevent: b\ndata: 1\n\n", [E("b", "1")]),
    ("event resets", b"event: add\ndata: 1\n\ndata: 2\n\n", [E("add", "1"), E(data="2")]),
    ("event resets without data", b"event: add\n\ndata: 2\n\n", [E(data="2")]),
    ("empty event name", b"event:\ndata: 1\n\n", [E(data="1")]),
    ("event no colon", b"event\ndata: 1\n\n", [E(data="1")]),
    ("event name with space kept", b"event:  x y\ndata: 1\n\n", [E(" x y", "1")]),
    # id
    ("id", b"id: 7\ndata: a\n\n", [E(data="a", id="7")]),
    (
        "id persists",
        b"id: 1\ndata: a\n\ndata: b\n\nid: 2\ndata: c\n\n",
        [E(data="a", id="1"), E(data="b", id="1"), E(data="c", id="2")],
    ),
    ("id set in a block without data persists", b"id: 3\n\ndata: a\n\n", [E(data="a", id="3")]),
    (
        "id with nul ignored",
        b"id: 1\ndata: a\n\nid: 2\x00\ndata: b\n\n",
        [E(data="a", id="1"), E(data="b", id="1")],
    ),
    (
        "empty id resets",
        b"id: 1\ndata: a\n\nid\ndata: b\n\nid:\ndata: c\n\n",
        [E(data="a", id="1"), E(data="b"), E(data="c")],
    ),
    ("id keeps spaces after the first", b"id:  x \ndata: a\n\n", [E(data="a", id=" x ")]),
    # retry
    ("retry", b"retry: 3000\ndata: a\n\n", [E(data="a", retry=3000)]),
    ("retry no space", b"retry:0\ndata: a\n\n", [E(data="a", retry=0)]),
    ("retry per block", b"retry: 5\ndata: a\n\ndata: b\n\n", [E(data="a", retry=5), E(data="b")]),
    ("retry non-numeric", b"retry: 30s\ndata: a\n\n", [E(data="a")]),
    ("retry negative", b"retry: -1\ndata: a\n\n", [E(data="a")]),
    ("retry decimal", b"retry: 1.5\ndata: a\n\n", [E(data="a")]),
    ("retry empty", b"retry:\ndata: a\n\n", [E(data="a")]),
    ("retry no colon", b"retry\ndata: a\n\n", [E(data="a")]),
    ("retry two spaces", b"retry:  100\ndata: a\n\n", [E(data="a")]),
    ("retry non-ascii digits", "retry: \uff13\ndata: a\n\n".encode(), [E(data="a")]),
    ("retry superscript", "retry: ²\ndata: a\n\n".encode(), [E(data="a")]),
    ("retry huge", b"retry: " + b"9" * 5000 + b"\ndata: a\n\n", [E(data="a")]),
    # BOM
    ("bom at start", b"\xef\xbb\xbfdata: a\n\n", [E(data="a")]),
    ("bom only once", b"\xef\xbb\xbf\xef\xbb\xbfdata: a\n\n", []),
    ("bom later is not stripped", b"data: a\n\n\xef\xbb\xbfdata: b\n\n", [E(data="a")]),
    ("bom inside data kept", b"data: \xef\xbb\xbfa\n\n", [E(data="\ufeffa")]),
    ("bom then comment", b"\xef\xbb\xbf: hi\ndata: a\n\n", [E(data="a")]),
    # fields
    ("unknown field ignored", b"foo: bar\ndata: a\nbaz\n\n", [E(data="a")]),
    ("field names are case-sensitive", b"Data: a\nEVENT: x\n\n", []),
    ("space before colon is part of the name", b"data : a\n\n", []),
    ("leading space makes another field", b" data: a\n\n", []),
    ("unknown fields alone dispatch nothing", b"foo: bar\n\n", []),
    # end of stream
    ("unterminated event discarded", b"data: a\n", []),
    ("unterminated line discarded", b"data: a\n\ndata: b", [E(data="a")]),
]


@pytest.mark.parametrize(("stream", "expected"), [r[1:] for r in RULES], ids=[r[0] for r in RULES])
def test_rules(stream: bytes, expected: list[ServerSentEvent]) -> None:
    assert decode(stream) == expected
    assert decode(stream, chunk_size=1) == expected
    assert decode(stream, chunk_size=3) == expected


@pytest.mark.parametrize("stream", [r[1] for r in RULES], ids=[r[0] for r in RULES])
def test_rules_every_two_way_split(stream: bytes) -> None:
    whole = decode(stream)
    for cut in range(len(stream) + 1):
        assert decode_split(stream, [cut]) == whole, cut


def test_event_defaults_and_json() -> None:
    event = ServerSentEvent(data='{"a": [1, null]}')
    assert (event.event, event.id, event.retry) == ("message", None, None)
    assert event.json() == {"a": [1, None]}
    with pytest.raises(json.JSONDecodeError):
        ServerSentEvent(data="[DONE]").json()


def test_event_is_frozen() -> None:
    event = ServerSentEvent(data="x")
    with pytest.raises(AttributeError):
        event.data = "y"  # type: ignore[misc]


def test_openai_style_stream() -> None:
    chunks = [
        {"id": "c1", "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]},
        {"id": "c1", "choices": [{"index": 0, "delta": {"content": "Hél"}}]},
        {"id": "c1", "choices": [{"index": 0, "delta": {"content": "lo 👋"}}]},
        {"id": "c1", "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
    ]
    body = b"".join(
        b"data: " + json.dumps(c, ensure_ascii=False).encode() + b"\n\n" for c in chunks
    )
    body += b": OPENROUTER PROCESSING\n\ndata: [DONE]\n\n"
    for size in (None, 1, 7, 64):
        events = decode(body, chunk_size=size)
        assert [e.event for e in events] == ["message"] * 5
        assert [e.json() for e in events[:-1]] == chunks
        assert events[-1].data == "[DONE]"
        text = "".join(e.json()["choices"][0]["delta"].get("content", "") for e in events[:-1])
        assert text == "Héllo 👋"


def test_anthropic_style_stream() -> None:
    body = (
        b"event: message_start\r\n"
        b'data: {"type":"message_start","message":{"id":"msg_1"}}\r\n\r\n'
        b"event: content_block_start\r\n"
        b'data: {"type":"content_block_start","index":0}\r\n\r\n'
        b"event: ping\r\n"
        b'data: {"type": "ping"}\r\n\r\n'
        b"event: content_block_delta\r\n"
        b'data: {"type":"content_block_delta","delta":{"type":"text_delta","text":"Hi"}}\r\n\r\n'
        b"event: content_block_stop\r\n"
        b'data: {"type":"content_block_stop","index":0}\r\n\r\n'
        b"event: message_stop\r\n"
        b'data: {"type":"message_stop"}\r\n\r\n'
    )
    names = [
        "message_start",
        "content_block_start",
        "ping",
        "content_block_delta",
        "content_block_stop",
        "message_stop",
    ]
    for size in (None, 1, 5, 100):
        events = decode(body, chunk_size=size)
        assert [e.event for e in events] == names
        assert [e.json()["type"] for e in events] == names
        assert events[3].json()["delta"]["text"] == "Hi"


def test_events_are_returned_as_soon_as_complete() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\n") == []
    assert decoder.feed(b"\n") == [E(data="a")]
    # a lone CR ends a line at once: a CR-only stream is not held back a chunk
    assert decoder.feed(b"data: b\r\r") == [E(data="b")]
    # ... and an LF that follows in the next chunk belongs to that CR
    assert decoder.feed(b"\n") == []
    assert decoder.feed(b"data: c\r") == []
    assert decoder.feed(b"\n") == []
    assert decoder.feed(b"\r\n") == [E(data="c")]
    assert decoder.feed(b"") == []
    assert decoder.flush() == []
    assert not decoder.pending


def test_cr_lf_split_across_empty_chunks() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\r") == []
    assert decoder.feed(b"") == []
    assert decoder.feed(b"\n") == []
    assert decoder.feed(b"\n") == [E(data="a")]


def test_split_bom() -> None:
    for cuts in ([1], [2], [1, 2], [1, 2, 3]):
        assert decode_split(b"\xef\xbb\xbfdata: a\n\n", cuts) == [E(data="a")]
    decoder = SSEDecoder()
    assert decoder.feed(b"\xef") == []
    assert decoder.pending
    assert decoder.feed(b"\xbb") == []
    assert decoder.feed(b"\xbf") == []
    assert not decoder.pending
    assert decoder.feed(b"data: a\n\n") == [E(data="a")]


def test_bom_prefix_that_is_not_a_bom() -> None:
    assert decode(b"\xef\xbbdata: a\n\n", chunk_size=1) == []  # field "\ufffddata"
    assert decode(b"\xef\n\ndata: a\n\n", chunk_size=1) == [E(data="a")]


@pytest.mark.parametrize(
    ("stream", "pending"),
    [
        (b"", False),
        (b"data: a\n\n", False),
        (b": keep-alive\n", False),
        (b"data: a\r", True),
        (b"data: a\n\r", False),
        (b"\xef\xbb\xbf", False),
        (b"\xef\xbb", True),
        (b"data: a\n", True),
        (b"data: a", True),
        (b"event: message_stop\n", True),
        (b"id: 1\n", True),
        (b"foo\n", True),
        (b": partial comm", True),
        (b"data: a\n\nevent: x\n\n", False),
    ],
)
def test_pending_after_flush(stream: bytes, pending: bool) -> None:
    decoder = SSEDecoder()
    decoder.feed(stream)
    assert decoder.flush() == []
    assert decoder.pending is pending


def test_last_event_id_and_retry_properties() -> None:
    decoder = SSEDecoder()
    assert (decoder.last_event_id, decoder.retry) == ("", None)
    decoder.feed(b"id: 9\nretry: 250\n\n")  # no data: no event, but both still take effect
    assert (decoder.last_event_id, decoder.retry) == ("9", 250)
    assert decoder.feed(b"data: a\n\n") == [E(data="a", id="9")]
    decoder.feed(b"retry: soon\nid: \x00\n\n")
    assert (decoder.last_event_id, decoder.retry) == ("9", 250)


def test_many_events_in_one_chunk() -> None:
    body = b"".join(b"id: %d\ndata: %d\n\n" % (i, i) for i in range(20_000))
    events = SSEDecoder().feed(body)
    assert len(events) == 20_000
    assert events[-1] == E(data="19999", id="19999")


@pytest.mark.parametrize("chunk_size", [64, 4096, None])
def test_large_event_in_small_chunks(chunk_size: int | None) -> None:
    # Linear by design: a chunk without a line break is only appended to the buffer.
    payload = ("x" * 99 + "é") * 10_000  # about 1 MB, multi-byte chars split at many cuts
    body = b"event: big\ndata: " + payload.encode() + b"\ndata: tail\n\n"
    assert decode(body, chunk_size=chunk_size) == [E("big", payload + "\ntail")]


def test_max_event_bytes_not_exceeded() -> None:
    decoder = SSEDecoder(max_event_bytes=16)
    body = b"data: 0123456789\n\n" * 3 + b": " + b"c" * 14 + b"\n" + b"data: 0123456789\n\n"
    assert decode(body) == [E(data="0123456789")] * 4
    events: list[ServerSentEvent] = []
    for i in range(len(body)):
        events += decoder.feed(body[i : i + 1])
    assert events == [E(data="0123456789")] * 4


def test_max_event_bytes_counts_all_data_lines() -> None:
    decoder = SSEDecoder(max_event_bytes=20)
    assert decoder.feed(b"data: 0123456789\n") == []
    with pytest.raises(SSEEventTooLargeError, match=r"max_event_bytes=20\b"):
        decoder.feed(b"data: 0123456789\n")


def test_max_event_bytes_unterminated_line() -> None:
    decoder = SSEDecoder(max_event_bytes=1000)
    decoder.feed(b"data: ")
    for _ in range(15):
        decoder.feed(b"x" * 64)  # 966 bytes buffered
    with pytest.raises(SSEEventTooLargeError, match="max_event_bytes=1000") as info:
        decoder.feed(b"x" * 64)
    assert isinstance(info.value, ValueError)


def test_max_event_bytes_line_in_one_chunk() -> None:
    with pytest.raises(SSEEventTooLargeError):
        SSEDecoder(max_event_bytes=100).feed(b"data: " + b"x" * 200 + b"\n\n")
    with pytest.raises(SSEEventTooLargeError):
        SSEDecoder(max_event_bytes=100).feed(b": " + b"x" * 200)


@pytest.mark.parametrize("limit", [0, -1])
def test_max_event_bytes_must_be_positive(limit: int) -> None:
    with pytest.raises(ValueError, match="max_event_bytes"):
        SSEDecoder(max_event_bytes=limit)


# --- property tests -------------------------------------------------------------------------

_TEXT = st.text(
    alphabet=st.sampled_from(list("ab :\t\x00\x0b\x0c\x1c\x85\u2028éß中😀\ufeff")), max_size=12
)
_NAME = st.text(alphabet=st.sampled_from(list("abz_.é😀")), min_size=1, max_size=8)
_EOL = st.sampled_from([b"\n", b"\r", b"\r\n"])
_EOL_AFTER_CR = st.sampled_from([b"\r", b"\r\n"])


class Block(NamedTuple):
    comment: str | None
    event: str | None
    id: str | None
    retry: int | None
    data: list[str]


_BLOCK = st.builds(
    Block,
    st.none() | _TEXT,
    st.none() | _NAME,
    st.none() | _NAME,
    st.none() | st.integers(0, 10**6),
    st.lists(_TEXT, max_size=4),
)


@st.composite
def streams(draw: st.DrawFn) -> tuple[bytes, list[ServerSentEvent]]:
    """A random event stream with random line endings, and the events it must give."""
    blocks = draw(st.lists(_BLOCK, max_size=6))
    body = [b"\xef\xbb\xbf"] if draw(st.booleans()) else []
    expected: list[ServerSentEvent] = []
    last_id: str | None = None
    for block in blocks:
        lines: list[str] = []
        if block.comment is not None:
            lines.append(":" + block.comment)
        if block.event is not None:
            lines.append("event: " + block.event)
        if block.id is not None:
            lines.append("id:" + block.id)
            last_id = block.id
        if block.retry is not None:
            lines.append(f"retry: {block.retry}")
        lines += ["data: " + d for d in block.data]
        lines.append("")
        for line in lines:
            # after a lone CR, an LF is part of that line break, not a blank line
            eol = draw(_EOL if line or body[-1:] != [b"\r"] else _EOL_AFTER_CR)
            body += [line.encode(), eol]
        if block.data:
            event = block.event or "message"
            data = "\n".join(block.data)
            expected.append(ServerSentEvent(event, data, last_id, block.retry))
    return b"".join(body), expected


@settings(max_examples=300, deadline=None, database=None)
@given(case=streams(), data=st.data())
def test_any_chunking_gives_the_same_events(
    case: tuple[bytes, list[ServerSentEvent]], data: st.DataObject
) -> None:
    stream, expected = case
    assert decode(stream) == expected
    cuts = data.draw(st.lists(st.integers(0, len(stream)), max_size=len(stream) + 1))
    assert decode_split(stream, cuts) == expected
    assert decode(stream, chunk_size=1) == expected


@settings(max_examples=200, deadline=None, database=None)
@given(stream=st.binary(max_size=200), data=st.data())
def test_arbitrary_bytes_chunking_is_invariant(stream: bytes, data: st.DataObject) -> None:
    whole = SSEDecoder()
    expected = whole.feed(stream)
    cuts = data.draw(st.lists(st.integers(0, len(stream)), max_size=20))
    split = SSEDecoder()
    bounds = [0, *sorted(cuts), len(stream)]
    got = [e for a, b in itertools.pairwise(bounds) for e in split.feed(stream[a:b])]
    assert got == expected
    assert split.pending == whole.pending
    assert split.last_event_id == whole.last_event_id
