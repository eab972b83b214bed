"""Incremental, I/O-free decoder for ``text/event-stream`` (server-sent events).

The HTTP transport feeds the raw response body to `SSEDecoder.feed` chunk by chunk, exactly as
the network delivers it, and gets back complete `ServerSentEvent` objects. Chunk boundaries may
fall anywhere: inside a multi-byte UTF-8 character, or between the ``\\r`` and ``\\n`` of a
line break.

It follows the WHATWG HTML Living Standard, section 9.2.6 "Interpreting an event stream":

* lines end with CRLF, LF or a lone CR; one UTF-8 BOM is stripped at the start of the stream;
  each line is decoded as UTF-8 with invalid bytes replaced by U+FFFD;
* a blank line dispatches the event; a line starting with ``:`` is a comment;
* ``field:value`` drops one leading space from the value; a line without a colon is a field
  with an empty value; fields other than ``event``, ``data``, ``id`` and ``retry`` are ignored;
* ``data`` lines are joined with ``\\n``; if no ``data`` line was seen, the blank line
  dispatches nothing (but still resets the event type); ``data:`` alone gives data ``""``;
* ``id`` is ignored if it contains NUL, and otherwise persists across events until changed;
* ``retry`` is honoured only if it is all ASCII digits;
* an event not terminated by a blank line at end of stream is discarded: `SSEDecoder.flush`
  returns nothing for it, and `SSEDecoder.pending` tells the caller the stream was cut.

Cost is linear in the stream size whatever the chunking: bytes without a line break are only
appended to a buffer, and each byte is split into lines (in C) once.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from ..jsonio import loads

__all__ = ["SSEDecoder", "SSEEventTooLargeError", "ServerSentEvent"]

_BOM = b"\xef\xbb\xbf"
_CR = 0x0D
_LF = 0x0A


class ServerSentEvent(NamedTuple):
    """One dispatched event (immutable; a named tuple, which costs a stream little to make).

    ``id`` is the stream's last event ID when the event was dispatched (it persists across
    events, as in the spec), or None while that ID is empty. ``retry`` is the reconnection time
    in milliseconds if a valid ``retry`` field came in this event's block, else None.
    """

    event: str = "message"
    data: str = ""
    id: str | None = None
    retry: int | None = None

    def json(self) -> Any:
        """Parse ``data`` as JSON (raises `json.JSONDecodeError`, a ValueError, if it is not)."""
        return loads(self.data)


_new_event = tuple.__new__  # the named tuple's own __new__ adds a call per event


class SSEEventTooLargeError(ValueError):
    """An event, or a single unterminated line, grew beyond ``max_event_bytes``."""


class SSEDecoder:
    """Turns a byte stream into `ServerSentEvent` objects; see the module docstring.

    ``max_event_bytes`` bounds the memory one event may use: the raw bytes of its ``data``
    lines plus any line still waiting for its terminator. None means unlimited. After
    `SSEEventTooLargeError` is raised the decoder must not be used again.
    """

    __slots__ = (
        "_bom_checked",
        "_buf",
        "_data",
        "_event_bytes",
        "_event_retry",
        "_event_type",
        "_in_event",
        "_last_event_id",
        "_max_event_bytes",
        "_retry",
        "_skip_lf",
    )

    def __init__(self, *, max_event_bytes: int | None = None) -> None:
        if max_event_bytes is not None and max_event_bytes < 1:
            raise ValueError(f"max_event_bytes must be positive, got {max_event_bytes}")
        self._max_event_bytes = max_event_bytes
        self._buf = bytearray()  # an unterminated line (no CR or LF in it)
        self._bom_checked = False
        self._skip_lf = False  # the last line ended with CR: a leading LF belongs to it
        self._data: list[str] = []
        self._event_type = ""
        self._event_retry: int | None = None
        self._event_bytes = 0
        self._in_event = False
        self._last_event_id = ""
        self._retry: int | None = None

    @property
    def last_event_id(self) -> str:
        """The last event ID buffer ("" until an ``id`` field sets it)."""
        return self._last_event_id

    @property
    def retry(self) -> int | None:
        """The reconnection time (ms) most recently set by a ``retry`` field, if any."""
        return self._retry

    @property
    def pending(self) -> bool:
        """True if an event was started but not terminated by a blank line.

        That is: part of a line is buffered, or a field line (not a comment) came after the
        last blank line. Check it after `flush`: True means the stream ended mid-event.
        """
        return self._in_event or bool(self._buf)

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        """Consume the next bytes of the stream and return the events they complete."""
        if not self._bom_checked:
            head = bytes(self._buf) + chunk
            if len(head) < len(_BOM) and _BOM.startswith(head):
                self._buf[:] = head  # could still become a BOM: wait for more bytes
                return []
            self._bom_checked = True
            self._buf.clear()
            chunk = head[len(_BOM) :] if head.startswith(_BOM) else head
        if self._skip_lf and chunk:
            self._skip_lf = False
            if chunk[0] == _LF:
                chunk = chunk[1:]
        if not chunk:
            return []
        buf = self._buf
        if b"\n" not in chunk and b"\r" not in chunk:
            buf += chunk
            self._check_size()
            return []
        data = bytes(buf) + chunk if buf else bytes(chunk)
        buf.clear()
        lines = data.splitlines()  # bytes.splitlines splits on CRLF, LF and CR only
        last = data[-1]
        if last == _CR:
            self._skip_lf = True
        elif last != _LF:
            buf += lines.pop()
        events: list[ServerSentEvent] = []
        limit = self._max_event_bytes
        # The two lines of nearly every event are handled here, with the state in locals: a
        # `data:` line, and the blank line that ends an event with no `event:`/`retry:` field.
        # Everything else goes through `_process_line` (the state written back around it).
        data_lines, size, in_event = self._data, self._event_bytes, self._in_event
        for line in lines:
            if line[:5] == b"data:":
                value = line[6:] if line[5:6] == b" " else line[5:]
                data_lines.append(value.decode("utf-8", "replace"))
                in_event = True
                size += len(line)
                if limit is not None and size + len(buf) > limit:
                    self._event_bytes = size
                    self._check_size()
            elif not line and not self._event_type and self._event_retry is None:
                if data_lines:
                    text = data_lines[0] if len(data_lines) == 1 else "\n".join(data_lines)
                    fields = ("message", text, self._last_event_id or None, None)
                    events.append(_new_event(ServerSentEvent, fields))
                    data_lines = self._data = []
                size, in_event = 0, False
            else:
                self._data, self._event_bytes, self._in_event = data_lines, size, in_event
                self._process_line(line, events)
                data_lines, size, in_event = self._data, self._event_bytes, self._in_event
        self._data, self._event_bytes, self._in_event = data_lines, size, in_event
        self._check_size()
        return events

    def flush(self) -> list[ServerSentEvent]:
        """Signal end of stream.

        Per the spec an unterminated event is discarded, so this always returns an empty list
        (lines are processed as soon as their terminator arrives, even a lone CR). Read
        `pending` afterwards to learn whether something was discarded. The buffered state is
        kept so `pending` stays readable; do not feed the decoder after flushing.
        """
        return []

    def _check_size(self) -> None:
        limit = self._max_event_bytes
        if limit is not None and self._event_bytes + len(self._buf) > limit:
            raise SSEEventTooLargeError(
                f"server-sent event exceeds max_event_bytes={limit} "
                f"({self._event_bytes + len(self._buf)} bytes buffered)"
            )

    def _process_line(self, raw: bytes, events: list[ServerSentEvent]) -> None:
        if not raw:  # blank line: dispatch
            if self._data:
                data = self._data
                fields = (
                    self._event_type or "message",
                    data[0] if len(data) == 1 else "\n".join(data),
                    self._last_event_id or None,
                    self._event_retry,
                )
                events.append(_new_event(ServerSentEvent, fields))  # the fields, all four
                self._data = []
            self._event_type = ""
            self._event_retry = None
            self._event_bytes = 0
            self._in_event = False
            return
        if raw[0] == 0x3A:  # ":" comment
            return
        self._in_event = True
        line = raw.decode("utf-8", "replace")
        field, colon, value = line.partition(":")
        if colon and value[:1] == " ":
            value = value[1:]
        if field == "data":
            self._data.append(value)
            self._event_bytes += len(raw)
            self._check_size()
        elif field == "event":
            self._event_type = value
        elif field == "id":
            if "\x00" not in value:
                self._last_event_id = value
        elif field == "retry" and value.isascii() and value.isdigit():
            try:
                retry = int(value)
            except ValueError:  # more digits than int() accepts (sys.get_int_max_str_digits)
                return
            self._retry = self._event_retry = retry
