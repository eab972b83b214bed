"""HTTP/1.1 on the wire, I/O-free: requests written as bytes, responses parsed incrementally.

`encode_request` writes a request's head and body in one piece. `ResponseParser` is fed the
bytes of one response exactly as the network delivers them (a split may fall anywhere) and
gives back the head (`ResponseHead`) once it is complete and the body's pieces, de-chunked, in
order. The body's length is framed as RFC 9112 section 6.3 says: none for `HEAD`, 1xx, 204 and
304; chunked when `Transfer-Encoding` ends in `chunked`; else `Content-Length`; else everything
until the server closes the connection. Interim 1xx responses are skipped.

What does not parse raises `ProtocolError`: a bad status line, a header block over
`MAX_HEAD_BYTES`, conflicting `Content-Length`s, a bad chunk size. Bare `\\n` line ends are
accepted, as every client accepts them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TypeVar, overload

__all__ = [
    "MAX_HEAD_BYTES",
    "Headers",
    "IncompleteMessageError",
    "ProtocolError",
    "RequestEncodingError",
    "ResponseHead",
    "ResponseParser",
    "UnsupportedEncodingError",
    "encode_request",
]

#: A response's status line and headers may not exceed this.
MAX_HEAD_BYTES = 64 << 10
#: A chunk-size line (with its extensions) or a trailer line may not exceed this.
_MAX_LINE = 8 << 10
_NO_BODY_STATUSES = frozenset({204, 304})
_T = TypeVar("_T")
_HEX = frozenset(b"0123456789abcdefABCDEF")
# Parser states.
_HEAD, _LENGTH, _CHUNK_SIZE, _CHUNK_DATA, _CHUNK_END, _TRAILER, _UNTIL_CLOSE, _DONE = range(8)


class ProtocolError(Exception):
    """The bytes are not a valid HTTP/1.1 response (or a request cannot be written)."""


class RequestEncodingError(ProtocolError):
    """A request that cannot be written: a header with a line break, or not Latin-1."""


class UnsupportedEncodingError(ProtocolError):
    """The body is compressed in a way llmrelay did not ask for."""


class IncompleteMessageError(ProtocolError):
    """The connection closed before the response was complete."""


class Headers(Mapping[str, str]):
    """Response headers: case-insensitive; `h[name]`/`h.get(name)` give the first value,
    `getall(name)` every value, `raw` the pairs as they came."""

    __slots__ = ("_first", "_repeated", "raw")

    def __init__(self, raw: list[tuple[str, str]] | None = None) -> None:
        self.raw: list[tuple[str, str]] = raw or []
        first: dict[str, tuple[str, str]] = {}
        repeated: set[str] = set()
        for name, value in self.raw:
            lowered = name.lower()
            if lowered in first:
                repeated.add(lowered)
            else:
                first[lowered] = (name, value)
        self._first, self._repeated = first, repeated

    def __getitem__(self, name: str) -> str:
        return self._first[name.lower()][1]

    @overload
    def get(self, name: str, /) -> str | None: ...
    @overload
    def get(self, name: str, default: str, /) -> str: ...
    @overload
    def get(self, name: str, default: _T, /) -> str | _T: ...

    def get(self, name: str, default: object = None, /) -> object:
        found = self._first.get(name.lower())
        return default if found is None else found[1]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._first

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self._first.values())

    def __len__(self) -> int:
        return len(self._first)

    def getall(self, name: str) -> list[str]:
        lowered = name.lower()
        if lowered not in self._repeated:
            found = self._first.get(lowered)
            return [] if found is None else [found[1]]
        return [value for key, value in self.raw if key.lower() == lowered]

    def __repr__(self) -> str:
        return f"Headers({[name for name, _ in self.raw]!r})"  # names only: values may be secret


class ResponseHead:
    """A response's status line and headers."""

    __slots__ = ("headers", "reason", "status", "version")

    def __init__(self, version: str, status: int, reason: str, headers: Headers) -> None:
        self.version, self.status, self.reason, self.headers = version, status, reason, headers

    def tokens(self, name: str) -> set[str]:
        """The comma-separated tokens of every `name` header, lower-cased."""
        return {
            token.strip().lower()
            for value in self.headers.getall(name)
            for token in value.split(",")
            if token.strip()
        }


#: Header names already checked (names are few and never secret; bounded all the same).
_good_names: set[str] = set()
_NAME_BAD = frozenset(" \t:\r\n\0")


def _check_names(headers: Mapping[str, str]) -> None:
    for name in headers:
        if name not in _good_names:
            if not name or not name.isascii() or not _NAME_BAD.isdisjoint(name):
                raise RequestEncodingError(f"not a header name: {name[:40]!r}")
            if len(_good_names) < 1024:
                _good_names.add(name)


def encode_request(
    method: str, target: str, host: str, headers: Mapping[str, str], body: bytes | None
) -> bytes:
    """The request's bytes: request line, `Host`, the headers, `Content-Length` when there
    is a body (or the method usually has one), and the body. Header names and values with a
    line break (a header injection) or outside Latin-1 are refused with
    `RequestEncodingError` (naming the header, never quoting its value)."""
    _check_names(headers)
    lines = [f"{method} {target} HTTP/1.1\r\nHost: {host}\r\n"]
    lines += [f"{name}: {value}\r\n" for name, value in headers.items()]
    if body is not None or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(body or b'')}\r\n")
    lines.append("\r\n")
    text = "".join(lines)
    # Every line break is one of ours (one per line, two in the first piece) and nothing is
    # NUL, else a value has one.
    breaks = len(lines) + 1
    if text.count("\n") != breaks or text.count("\r") != breaks or "\0" in text:
        raise RequestEncodingError(f"{_culprit(headers)} may not contain a line break or NUL")
    try:
        head = text.encode("latin-1")
    except UnicodeEncodeError:
        raise RequestEncodingError(f"{_culprit(headers, latin=True)} must be Latin-1") from None
    return head + body if body else head


def _culprit(headers: Mapping[str, str], latin: bool = False) -> str:
    for name, value in headers.items():
        bad = (
            not value.isascii() and any(ord(c) > 255 for c in value)
            if latin
            else ("\r" in value or "\n" in value or "\0" in value)
        )
        if bad:
            return f"header {name!r}"
    return "the request line"


def _parse_head(block: bytes) -> ResponseHead:
    text = block.decode("latin-1")
    lines = text.split("\n")
    status_line = lines[0].rstrip("\r")
    version, _, rest = status_line.partition(" ")
    code, _, reason = rest.partition(" ")
    if not version.startswith("HTTP/1.") or len(code) != 3 or not code.isdigit():
        raise ProtocolError(f"not an HTTP/1.x status line: {status_line[:100]!r}")
    raw: list[tuple[str, str]] = []
    for ended in lines[1:]:
        line = ended.rstrip("\r")
        if not line:
            continue
        if line[0] in " \t" and raw:  # an obsolete folded line continues the last value
            last, before = raw[-1]
            raw[-1] = (last, f"{before} {line.strip()}")
            continue
        name, colon, value = line.partition(":")
        if not colon or not name or name[-1] in " \t" or name[0] in " \t":
            raise ProtocolError(f"not a header line: {line[:100]!r}")
        raw.append((name, value.strip()))
    return ResponseHead(version, int(code), reason, Headers(raw))


class ResponseParser:
    """One response, fed as it arrives. `feed(data)` returns the body pieces `data` completed
    (possibly none); `head` is set once the headers are in; `done` once the message is
    complete (bytes after it are kept in `trailing`: a connection that has any cannot be
    reused). `feed_eof()` tells the parser the connection closed: it ends a body framed by
    the close, and raises `IncompleteMessageError` for anything else unfinished.

    Each byte is looked at once whatever the split: a buffer holds only an unfinished line or
    header block, and positions move through it instead of slicing what is left."""

    __slots__ = ("_buf", "_left", "_method", "_state", "head", "keep_alive", "trailing")

    def __init__(self, method: str = "GET") -> None:
        self._method = method
        self._state = _HEAD
        self._buf = b""
        self._left = 0  # bytes of the body (or of the current chunk) still to come
        self.head: ResponseHead | None = None
        self.keep_alive = False
        self.trailing = b""

    @property
    def done(self) -> bool:
        return self._state == _DONE

    def feed(self, data: bytes) -> list[bytes]:
        state = self._state
        if state == _LENGTH:  # the common case: body bytes, passed on without copying
            left = self._left
            if len(data) < left:
                self._left = left - len(data)
                return [data] if data else []
            self._state, self._left = _DONE, 0
            self.trailing = data[left:]
            return [data[:left]]
        if state == _UNTIL_CLOSE:
            return [data] if data else []
        if state == _DONE:
            self.trailing += data
            return []
        buf = self._buf + data if self._buf else data
        pos, size = 0, len(buf)
        pieces: list[bytes] = []
        while pos < size:
            if state == _HEAD:
                end, skip = buf.find(b"\r\n\r\n", pos), 4
                if end < 0:
                    end, skip = buf.find(b"\n\n", pos), 2
                if end < 0 or end - pos > MAX_HEAD_BYTES:
                    if end >= 0 or size - pos > MAX_HEAD_BYTES:
                        raise ProtocolError(
                            f"the response's headers are larger than {MAX_HEAD_BYTES} bytes"
                        )
                    break
                head = _parse_head(buf[pos:end])
                pos = end + skip
                if 100 <= head.status < 200 and head.status != 101:
                    continue  # an interim response: the real one follows
                self.head = head
                state = self._frame(head)
            elif state in (_LENGTH, _CHUNK_DATA):
                taken = min(self._left, size - pos)
                pieces.append(buf[pos : pos + taken])
                pos += taken
                self._left -= taken
                if self._left:
                    break
                state = _DONE if state == _LENGTH else _CHUNK_END
            elif state == _UNTIL_CLOSE:
                pieces.append(buf[pos:])
                pos = size
            elif state == _DONE:
                self.trailing += buf[pos:]
                pos = size
            else:
                end = buf.find(b"\n", pos)
                if end < 0:
                    if size - pos > _MAX_LINE:
                        raise ProtocolError("a chunk-size or trailer line is too long")
                    break
                line = buf[pos:end].rstrip(b"\r")
                pos = end + 1
                state = self._line(state, line)
        self._state = state
        self._buf = buf[pos:] if pos < size else b""
        return pieces

    def feed_eof(self) -> None:
        if self._state == _UNTIL_CLOSE:
            self._state = _DONE
        elif self._state != _DONE:
            raise IncompleteMessageError(
                "the connection closed before the response's headers"
                if self._state == _HEAD
                else "the connection closed before the end of the response's body"
            )

    def _line(self, state: int, line: bytes) -> int:
        """The state after a chunk-size, chunk-end or trailer line."""
        if state == _CHUNK_SIZE:
            size = line.split(b";", 1)[0].strip()
            if not size or not all(c in _HEX for c in size) or len(size) > 16:
                raise ProtocolError(f"bad chunk size line: {line[:40]!r}")
            self._left = int(size, 16)
            return _CHUNK_DATA if self._left else _TRAILER
        if state == _CHUNK_END:
            if line:
                raise ProtocolError("a chunk is longer than its size")
            return _CHUNK_SIZE
        return _TRAILER if line else _DONE  # trailer fields are read and ignored

    def _frame(self, head: ResponseHead) -> int:
        """The state the body starts in, from the head (RFC 9112 section 6.3)."""
        headers = head.headers
        if "connection" not in headers:
            self.keep_alive = head.version != "HTTP/1.0"
        elif head.version == "HTTP/1.0":
            self.keep_alive = "keep-alive" in head.tokens("connection")
        else:
            self.keep_alive = "close" not in head.tokens("connection")
        status = head.status
        if self._method == "HEAD" or status in _NO_BODY_STATUSES or status == 101:
            return _DONE
        if self._method == "CONNECT" and 200 <= status < 300:
            return _DONE
        if "transfer-encoding" in headers:
            codings = headers.getall("transfer-encoding")
            if codings[-1].rsplit(",", 1)[-1].strip().lower() == "chunked":
                return _CHUNK_SIZE
            self.keep_alive = False
            return _UNTIL_CLOSE
        length = headers.get("content-length")
        if length is None:
            self.keep_alive = False
            return _UNTIL_CLOSE
        if "content-length" in headers._repeated:
            lengths = {value.strip() for value in headers.getall("content-length")}
            if len(lengths) > 1:
                raise ProtocolError(f"bad Content-Length: {sorted(lengths)!r}")
        if not length.isdigit() or len(length) > 18:
            raise ProtocolError(f"bad Content-Length: {length[:40]!r}")
        self._left = int(length)
        return _LENGTH if self._left else _DONE
