"""Tests for llmrelay.transport.wire: HTTP/1.1 responses parsed whatever the split, framed as
RFC 9112 says, and requests written without header injection."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llmrelay.transport.wire import (
    MAX_HEAD_BYTES,
    Headers,
    IncompleteMessageError,
    ProtocolError,
    RequestEncodingError,
    ResponseParser,
    encode_request,
)

CHUNKED = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"5\r\nhello\r\n6;name=value\r\n world\r\n0\r\nTrailer-Field: x\r\n\r\n"
)
LENGTH = b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\nhello world"


def parse(data: bytes, cuts: list[int], method: str = "POST") -> tuple[ResponseParser, bytes]:
    parser = ResponseParser(method)
    pieces: list[bytes] = []
    bounds = [0, *sorted(cuts), len(data)]
    for start, end in itertools.pairwise(bounds):
        pieces += parser.feed(data[start:end])
    return parser, b"".join(pieces)


@pytest.mark.parametrize("data", [CHUNKED, LENGTH], ids=["chunked", "length"])
def test_every_split_into_two_or_three_pieces_gives_the_same_body(data: bytes) -> None:
    for first in range(len(data) + 1):
        for second in range(first, len(data) + 1, 3):
            parser, body = parse(data, [first, second])
            assert (body, parser.done, parser.keep_alive) == (b"hello world", True, True)
            assert parser.trailing == b""


@settings(max_examples=300)
@given(st.lists(st.integers(0, len(CHUNKED)), max_size=12), st.binary(max_size=300))
def test_any_split_of_any_chunked_body(cuts: list[int], payload: bytes) -> None:
    sizes = [len(payload) // 3, len(payload) - len(payload) // 3]
    chunks = b""
    start = 0
    for size in sizes:
        if size:
            chunks += b"%x\r\n" % size + payload[start : start + size] + b"\r\n"
            start += size
    data = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks + b"0\r\n\r\n"
    parser, body = parse(data, [min(c, len(data)) for c in cuts])
    assert body == payload
    assert parser.done


def test_head_status_reason_and_case_insensitive_headers() -> None:
    parser, _ = parse(
        b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 3\r\nSet-Cookie: a\r\n"
        b"set-cookie: b\r\nX-Folded: one\r\n  two\r\nContent-Length: 0\r\n\r\n",
        [],
    )
    head = parser.head
    assert head is not None
    assert (head.status, head.reason, head.version) == (429, "Too Many Requests", "HTTP/1.1")
    assert head.headers["retry-after"] == head.headers.get("RETRY-AFTER") == "3"
    assert head.headers.getall("Set-Cookie") == ["a", "b"]
    assert head.headers["x-folded"] == "one two"
    assert "retry-after" in head.headers
    assert "nope" not in head.headers
    assert head.headers.get("nope", "default") == "default"
    assert dict(head.headers.items())["Retry-After"] == "3"
    assert "3" not in repr(head.headers)  # values may be secrets: the repr shows names only


def test_bare_newlines_are_accepted() -> None:
    parser, body = parse(b"HTTP/1.1 200 OK\nContent-Length: 2\n\nok", [])
    assert (parser.head and parser.head.status, body, parser.done) == (200, b"ok", True)


def test_interim_responses_are_skipped() -> None:
    data = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: x\r\n\r\n" + LENGTH
    parser, body = parse(data, [10, 30])
    assert (parser.head and parser.head.status, body) == (200, b"hello world")


@pytest.mark.parametrize(
    ("head", "method"),
    [
        (b"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n", "POST"),
        (b"HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n", "GET"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", "HEAD"),
        (b"HTTP/1.1 200 Connection established\r\n\r\n", "CONNECT"),
    ],
    ids=["204", "304", "HEAD", "CONNECT"],
)
def test_responses_without_a_body(head: bytes, method: str) -> None:
    parser, body = parse(head, [], method)
    assert (body, parser.done) == (b"", True)


def test_a_body_without_length_ends_with_the_connection() -> None:
    parser, body = parse(b"HTTP/1.0 200 OK\r\n\r\nall of it", [3, 25])
    assert (body, parser.done, parser.keep_alive) == (b"all of it", False, False)
    parser.feed_eof()
    assert parser.done


def test_keep_alive_follows_version_and_connection_header() -> None:
    for data, expected in [
        (b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", False),
        (b"HTTP/1.1 200 OK\r\nConnection: Keep-Alive, Upgrade\r\nContent-Length: 0\r\n\r\n", True),
        (b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", False),
        (b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n", True),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", False),  # close-delimited
    ]:
        parser, _ = parse(data, [])
        assert parser.keep_alive is expected, data


def test_bytes_after_the_message_are_kept_as_trailing() -> None:
    parser, body = parse(LENGTH + b"HTTP/1.1 200", [5])
    assert (body, parser.done, parser.trailing) == (b"hello world", True, b"HTTP/1.1 200")


@pytest.mark.parametrize(
    "data",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
        b"HTTP/1.1 200 OK\r\nContent-",
        b"",
    ],
    ids=["short-length", "no-last-chunk", "in-head", "nothing"],
)
def test_a_close_before_the_end_is_incomplete(data: bytes) -> None:
    parser, _ = parse(data, [])
    with pytest.raises(IncompleteMessageError):
        parser.feed_eof()


@pytest.mark.parametrize(
    "data",
    [
        b"SMTP/1.0 200 OK\r\n\r\n",
        b"HTTP/1.1 2000 OK\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nName : value\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhello\r\n",
    ],
    ids=["scheme", "status", "colon", "space", "two-lengths", "negative", "hex", "0x", "long"],
)
def test_malformed_responses_raise(data: bytes) -> None:
    with pytest.raises(ProtocolError):
        parse(data, [])


def test_a_head_over_the_limit_raises_before_it_ends() -> None:
    parser = ResponseParser()
    parser.feed(b"HTTP/1.1 200 OK\r\n")
    filler = b"X-Filler: " + b"a" * 1000 + b"\r\n"
    for _ in range(MAX_HEAD_BYTES // len(filler)):
        parser.feed(filler)  # under the limit: waiting for the end of the head
    with pytest.raises(ProtocolError, match="larger than"):
        parser.feed(filler)


def test_a_big_body_is_passed_on_in_the_pieces_it_came_in() -> None:
    parser = ResponseParser()
    assert parser.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 3000000\r\n\r\n") == []
    block = b"x" * 1_000_000
    assert [len(p) for p in parser.feed(block)] == [1_000_000]
    assert parser.feed(block + block + b"extra") == [block + block]
    assert (parser.done, parser.trailing) == (True, b"extra")


def test_encode_request() -> None:
    data = encode_request(
        "POST", "/v1/chat?x=1", "api.example:8443", {"Authorization": "Bearer k"}, b"{}"
    )
    assert data == (
        b"POST /v1/chat?x=1 HTTP/1.1\r\nHost: api.example:8443\r\nAuthorization: Bearer k\r\n"
        b"Content-Length: 2\r\n\r\n{}"
    )
    assert encode_request("GET", "/", "h", {}, None) == b"GET / HTTP/1.1\r\nHost: h\r\n\r\n"
    assert b"Content-Length: 0\r\n" in encode_request("POST", "/", "h", {}, None)


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Key": "value\r\nInjected: yes"},
        {"X-Key": "value\nInjected: yes"},
        {"X-Key": "nul\0"},
        {"X-Key\r\nInjected": "yes"},
        {"X Key": "v"},
        {"X-Key:": "v"},
        {"X-Key": "snowman ☃"},
    ],
    ids=["crlf", "lf", "nul", "name-crlf", "name-space", "name-colon", "not-latin1"],
)
def test_header_injection_is_refused(headers: dict[str, str]) -> None:
    with pytest.raises(RequestEncodingError) as info:
        encode_request("GET", "/", "h", headers, None)
    assert "Injected: yes" not in str(info.value)
    assert "snowman" not in str(info.value)


def test_headers_mapping_is_case_insensitive_and_keeps_the_first_value() -> None:
    headers = Headers([("A", "1"), ("a", "2"), ("B", "3")])
    assert (headers["a"], len(headers), list(headers)) == ("1", 2, ["A", "B"])
    with pytest.raises(KeyError):
        headers["c"]
