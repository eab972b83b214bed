"""Tests for llmrelay.transport.ndjson: line splitting, chunking, errors, limits."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llmrelay.transport.ndjson import NDJSONDecodeError, NDJSONDecoder, NDJSONLineTooLargeError


def decode(stream: bytes, cuts: list[int] | None = None) -> list[Any]:
    """Feed ``stream`` split at ``cuts`` (whole if None), then flush."""
    decoder = NDJSONDecoder()
    bounds = [0, *sorted(cuts or []), len(stream)]
    values: list[Any] = []
    for start, end in itertools.pairwise(bounds):
        values += decoder.feed(stream[start:end])
    return values + decoder.flush()


CASES: list[tuple[str, bytes, list[Any]]] = [
    ("lf", b'{"a":1}\n{"b":2}\n', [{"a": 1}, {"b": 2}]),
    ("crlf", b'{"a":1}\r\n{"b":2}\r\n', [{"a": 1}, {"b": 2}]),
    ("mixed", b'{"a":1}\r\n{"b":2}\n3\r\n', [{"a": 1}, {"b": 2}, 3]),
    ("blank lines", b'\n\n{"a":1}\n\r\n\n2\n\n', [{"a": 1}, 2]),
    ("whitespace lines", b' \t\n{"a":1}\n  \r\n', [{"a": 1}]),
    ("surrounding whitespace", b'  {"a": 1}  \t\r\n', [{"a": 1}]),
    ("scalars", b'1\n"x"\nnull\ntrue\n[1, 2]\n-0.5\n', [1, "x", None, True, [1, 2], -0.5]),
    ("unterminated last line", b'{"a":1}\n{"b":2}', [{"a": 1}, {"b": 2}]),
    ("unterminated crlf-less with cr", b"1\n2\r", [1, 2]),
    ("only blank", b"\n \r\n\t", []),
    ("empty", b"", []),
    ("cr inside a line is whitespace", b'{"a":\r1}\n', [{"a": 1}]),
    ("utf-8", '{"t":"é 😀 中"}\n'.encode(), [{"t": "é 😀 中"}]),
    ("escaped newline in string", b'{"t":"a\\nb"}\n', [{"t": "a\nb"}]),
    (
        "ollama style",
        b'{"model":"m","message":{"role":"assistant","content":"He"},"done":false}\n'
        b'{"model":"m","message":{"role":"assistant","content":"y"},"done":false}\n'
        b'{"model":"m","message":{"role":"assistant","content":""},"done":true,'
        b'"eval_count":2}\n',
        [
            {"model": "m", "message": {"role": "assistant", "content": "He"}, "done": False},
            {"model": "m", "message": {"role": "assistant", "content": "y"}, "done": False},
            {
                "model": "m",
                "message": {"role": "assistant", "content": ""},
                "done": True,
                "eval_count": 2,
            },
        ],
    ),
]


@pytest.mark.parametrize(("stream", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_cases_with_every_split(stream: bytes, expected: list[Any]) -> None:
    assert decode(stream) == expected
    assert decode(stream, list(range(len(stream)))) == expected  # 1-byte chunks
    for cut in range(len(stream) + 1):
        assert decode(stream, [cut]) == expected, cut


def test_values_are_returned_as_soon_as_complete() -> None:
    decoder = NDJSONDecoder()
    assert decoder.feed(b'{"a"') == []
    assert decoder.pending
    assert decoder.feed(b":1}") == []
    assert decoder.feed(b"\r") == []
    assert decoder.feed(b"\n2\n3") == [{"a": 1}, 2]
    assert decoder.feed(b"") == []
    assert decoder.flush() == [3]
    assert not decoder.pending
    assert decoder.flush() == []


def test_flush_blank_tail() -> None:
    decoder = NDJSONDecoder()
    assert decoder.feed(b"1\n  \r") == [1]
    assert decoder.flush() == []


def test_invalid_json_error_carries_the_line() -> None:
    decoder = NDJSONDecoder()
    with pytest.raises(NDJSONDecodeError) as info:
        decoder.feed(b'{"ok":1}\n\n{"a":\r\n')
    error = info.value
    assert isinstance(error, ValueError)
    assert error.line == '{"a":'
    assert error.lineno == 3
    assert "line 3" in str(error)
    assert repr('{"a":') in str(error)
    assert "Expecting value" in error.reason


def test_invalid_json_in_flush() -> None:
    decoder = NDJSONDecoder()
    assert decoder.feed(b"1\nnope") == [1]
    with pytest.raises(NDJSONDecodeError) as info:
        decoder.flush()
    assert (info.value.line, info.value.lineno) == ("nope", 2)


def test_long_invalid_line_is_truncated_in_the_message() -> None:
    line = '{"x": "' + "y" * 1000 + "\u00e9"
    with pytest.raises(NDJSONDecodeError) as info:
        decode(line.encode() + b"\n")
    assert info.value.line == line
    message = str(info.value)
    assert repr(line[:200] + "…") in message
    assert "y" * 200 not in message
    assert len(message) < 300


def test_invalid_utf8() -> None:
    with pytest.raises(NDJSONDecodeError, match="invalid UTF-8") as info:
        decode(b'"a\xffb"\n')
    assert info.value.line == '"a\ufffdb"'


@pytest.mark.parametrize(
    "line",
    [b"1 2", b"{", b"]", b"'x'", b"\xef\xbb\xbf1", b"1\x0b", b"[" * 100_000, b"9" * 5000],
    ids=["two values", "open", "close", "quotes", "bom", "vt", "deep nesting", "huge int"],
)
def test_invalid_lines(line: bytes) -> None:
    with pytest.raises(NDJSONDecodeError):
        decode(line + b"\n")


def test_many_lines_in_one_chunk() -> None:
    body = b"".join(b'{"i":%d}\n' % i for i in range(20_000))
    values = NDJSONDecoder().feed(body)
    assert values == [{"i": i} for i in range(20_000)]


@pytest.mark.parametrize("chunk_size", [64, 4096])
def test_large_line_in_small_chunks(chunk_size: int) -> None:
    # Linear by design: a chunk without "\n" is only appended to the buffer.
    text = ("x" * 99 + "é") * 10_000
    body = json.dumps({"t": text}, ensure_ascii=False).encode() + b"\n"
    decoder = NDJSONDecoder()
    values: list[Any] = []
    for start in range(0, len(body), chunk_size):
        values += decoder.feed(body[start : start + chunk_size])
    assert values == [{"t": text}]
    assert decoder.flush() == []


def test_max_line_bytes_allows_lines_at_the_limit() -> None:
    decoder = NDJSONDecoder(max_line_bytes=7)
    body = b'{"a":1}\r\n' * 3 + b'"abcde"'
    got = [v for i in range(len(body)) for v in decoder.feed(body[i : i + 1])]
    assert got + decoder.flush() == [{"a": 1}] * 3 + ["abcde"]


def test_max_line_bytes_unterminated() -> None:
    decoder = NDJSONDecoder(max_line_bytes=100)
    assert decoder.feed(b"1\n") == [1]
    assert decoder.feed(b"x" * 64) == []
    assert decoder.feed(b"x" * 36) == []  # 100 bytes buffered
    with pytest.raises(NDJSONLineTooLargeError, match=r"max_line_bytes=100\b") as info:
        decoder.feed(b"x")
    assert isinstance(info.value, ValueError)
    assert "line 2" in str(info.value)


def test_max_line_bytes_complete_line() -> None:
    with pytest.raises(NDJSONLineTooLargeError):
        NDJSONDecoder(max_line_bytes=10).feed(b'"' + b"x" * 20 + b'"\n')


@pytest.mark.parametrize("limit", [0, -5])
def test_max_line_bytes_must_be_positive(limit: int) -> None:
    with pytest.raises(ValueError, match="max_line_bytes"):
        NDJSONDecoder(max_line_bytes=limit)


# --- property tests -------------------------------------------------------------------------

_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(st.characters(codec="utf-8"), max_size=8),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(st.sampled_from("ké😀\n"), max_size=3), children, max_size=4)
    ),
    max_leaves=10,
)


@settings(max_examples=300, deadline=None, database=None)
@given(
    values=st.lists(_JSON, max_size=8),
    eols=st.lists(st.sampled_from([b"\n", b"\r\n", b"\n\n", b" \r\n\n"]), min_size=8, max_size=8),
    terminate_last=st.booleans(),
    data=st.data(),
)
def test_any_chunking_gives_the_same_values(
    values: list[Any], eols: list[bytes], terminate_last: bool, data: st.DataObject
) -> None:
    lines = [
        json.dumps(v, ensure_ascii=False).encode() + eol
        for v, eol in zip(values, eols, strict=False)
    ]
    if lines and not terminate_last:
        lines[-1] = lines[-1].rstrip(b"\r\n")
    stream = b"".join(lines)
    assert decode(stream) == values
    cuts = data.draw(st.lists(st.integers(0, len(stream)), max_size=len(stream) + 1))
    assert decode(stream, cuts) == values
