"""Incremental, I/O-free decoder for newline-delimited JSON (NDJSON / JSON Lines).

Some backends (Ollama, for one) stream ``application/x-ndjson``: one JSON value per line. The
HTTP transport feeds the raw body to `NDJSONDecoder.feed` chunk by chunk, with boundaries
anywhere (even inside a multi-byte UTF-8 character), and gets back the parsed values.

Rules (after the NDJSON spec, https://github.com/ndjson/ndjson-spec, and JSON Lines):

* the body is UTF-8; each line ends with ``\\n``, and a ``\\r`` before it is ignored;
* blank lines (nothing but JSON whitespace) are skipped;
* a line that is not valid UTF-8 JSON raises `NDJSONDecodeError`, which carries the line;
* at end of stream `NDJSONDecoder.flush` parses a final line that lacks its ``\\n``.

Cost is linear in the stream size whatever the chunking: bytes without a line break are only
appended to a buffer, and each byte is split into lines (in C) once.
"""

from __future__ import annotations

import json
from typing import Any

from ..jsonio import loads

__all__ = ["NDJSONDecodeError", "NDJSONDecoder", "NDJSONLineTooLargeError"]

_JSON_WS = b" \t\r\n"
_MESSAGE_LINE_CHARS = 200
_BLANK: Any = object()  # what _parse returns for a blank line


class NDJSONDecodeError(ValueError):
    """A line was not valid JSON (or not valid UTF-8).

    ``line`` is the whole offending line (decoded with replacement characters), ``lineno`` its
    1-based number in the stream; the message shows at most 200 characters of it.
    """

    def __init__(self, reason: str, line: str, lineno: int) -> None:
        shown = line if len(line) <= _MESSAGE_LINE_CHARS else line[:_MESSAGE_LINE_CHARS] + "…"
        super().__init__(f"invalid NDJSON on line {lineno}: {reason}: {shown!r}")
        self.reason = reason
        self.line = line
        self.lineno = lineno


class NDJSONLineTooLargeError(ValueError):
    """A line (terminated or not) grew beyond ``max_line_bytes``."""


class NDJSONDecoder:
    """Turns a byte stream into parsed JSON values, one per line; see the module docstring.

    ``max_line_bytes`` bounds the length of one line (without its line break); None means
    unlimited. After an exception is raised the decoder must not be used again.
    """

    __slots__ = ("_buf", "_lineno", "_max_line_bytes")

    def __init__(self, *, max_line_bytes: int | None = None) -> None:
        if max_line_bytes is not None and max_line_bytes < 1:
            raise ValueError(f"max_line_bytes must be positive, got {max_line_bytes}")
        self._max_line_bytes = max_line_bytes
        self._buf = bytearray()  # an unterminated line (no LF in it)
        self._lineno = 0

    @property
    def pending(self) -> bool:
        """True if bytes of an unterminated line are buffered."""
        return bool(self._buf)

    def feed(self, chunk: bytes) -> list[Any]:
        """Consume the next bytes of the stream and return the values of the lines completed."""
        buf = self._buf
        if b"\n" not in chunk:
            buf += chunk
            self._check_size(len(buf) - buf.endswith(b"\r"))  # a CR before LF is not counted
            return []
        data = bytes(buf) + chunk if buf else bytes(chunk)
        buf.clear()
        lines = data.split(b"\n")
        buf += lines.pop()  # the part after the last LF (often empty)
        values = [value for line in lines if (value := self._parse(line)) is not _BLANK]
        self._check_size(len(buf) - buf.endswith(b"\r"))
        return values

    def flush(self) -> list[Any]:
        """Signal end of stream: parse a final line that has no ``\\n``, if it is not blank."""
        if not self._buf:
            return []
        line = bytes(self._buf)
        self._buf.clear()
        value = self._parse(line)
        return [] if value is _BLANK else [value]

    def _check_size(self, size: int) -> None:
        limit = self._max_line_bytes
        if limit is not None and size > limit:
            raise NDJSONLineTooLargeError(
                f"NDJSON line {self._lineno + 1} exceeds max_line_bytes={limit} ({size} bytes)"
            )

    def _parse(self, line: bytes) -> Any:
        if line[-1:] == b"\r":
            line = line[:-1]
        self._check_size(len(line))
        self._lineno += 1
        if not line.strip(_JSON_WS):
            return _BLANK
        try:
            return loads(line.decode("utf-8"))
        except UnicodeDecodeError as exc:
            reason = f"invalid UTF-8 ({exc.reason} at byte {exc.start})"
        except json.JSONDecodeError as exc:
            reason = f"{exc.msg} at column {exc.colno}"
        except (ValueError, RecursionError) as exc:  # too many digits, nested too deep
            reason = f"{type(exc).__name__}: {exc}"
        raise NDJSONDecodeError(reason, line.decode("utf-8", "replace"), self._lineno)
