"""The one server-sent-events encoder (the decoder is `sse`): events as the gateway writes them.

`data` is written as given: callers pass one line of JSON (`json.dumps` never emits a line
break), so an event is ``[event: <name>\\n]data: <data>\\n\\n``. A multi-line `data` is split
into several ``data:`` lines, as the standard says, so any text round-trips through `sse`.
"""

from __future__ import annotations

__all__ = ["DONE", "comment", "encode_event"]

#: OpenAI's end-of-stream marker.
DONE = b"data: [DONE]\n\n"


def encode_event(data: bytes | str, event: str | None = None) -> bytes:
    """One event: an optional ``event:`` line, the ``data:`` line(s), a blank line."""
    if isinstance(data, str) and "\n" not in data and "\r" not in data:  # one line: as it is
        head = b"event: " + event.encode() + b"\ndata: " if event else b"data: "
        return head + data.encode() + b"\n\n"
    raw = data.encode() if isinstance(data, str) else data
    if b"\n" in raw or b"\r" in raw:
        lines = raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n")
        raw = b"\ndata: ".join(lines)
    head = b"event: " + event.encode() + b"\n" if event else b""
    return head + b"data: " + raw + b"\n\n"


def comment(text: str = "") -> bytes:
    """A comment line (a keep-alive that parsers ignore)."""
    return b": " + text.replace("\n", " ").encode() + b"\n\n"
