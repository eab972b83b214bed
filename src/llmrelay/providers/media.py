"""Media inputs (`media=[(data, name), …]`) turned into what chat APIs accept, before any I/O.

An item is bytes, a path (str or PathLike), an open binary file, a `data:` URI or an http(s)
URL. Local data becomes a `data:` URI with its type sniffed from the bytes (or the name); URLs
are passed on for the API to fetch — llmrelay itself fetches nothing here.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidRequestError

__all__ = ["MAX_MEDIA_BYTES", "Media", "load_media"]

#: Largest local file accepted as one media item.
MAX_MEDIA_BYTES = 20 << 20

_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"%PDF-", "application/pdf"),
    (b"ID3", "audio/mpeg"),
    (b"\xff\xfb", "audio/mpeg"),
)


@dataclass(frozen=True, slots=True)
class Media:
    """One item: a `data:` URI (`is_url` False) or an http(s) URL, its MIME type and name."""

    uri: str
    mime_type: str
    name: str | None
    is_url: bool

    @property
    def base64_data(self) -> str:
        """The payload of a `data:` URI."""
        return self.uri.split(",", 1)[1]


def _sniff(data: bytes, name: str | None) -> str:
    for magic, mime in _MAGIC:
        if data.startswith(magic):
            return mime
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return "audio/wav"
    if name:
        import mimetypes

        guessed, _ = mimetypes.guess_type(name)
        if guessed:
            return guessed
    return "application/octet-stream"


def _from_bytes(data: bytes, name: str | None) -> Media:
    if len(data) > MAX_MEDIA_BYTES:
        raise InvalidRequestError(f"media item {name or ''} is larger than 20 MB")
    mime = _sniff(data, name)
    return Media(f"data:{mime};base64,{base64.b64encode(data).decode()}", mime, name, False)


def _read_file(path: str | os.PathLike[str], name: str | None) -> Media:
    try:
        size = os.path.getsize(path)
        if size > MAX_MEDIA_BYTES:
            raise InvalidRequestError(f"media file {os.fspath(path)!r} is larger than 20 MB")
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise InvalidRequestError(f"cannot read media file {os.fspath(path)!r}: {exc}") from exc
    return _from_bytes(data, name or os.path.basename(path))


def _one(item: Any, name: str | None) -> Media:
    if isinstance(item, bytes | bytearray | memoryview):
        return _from_bytes(bytes(item), name)
    if isinstance(item, os.PathLike):
        return _read_file(item, name)
    if hasattr(item, "read"):
        data = item.read(MAX_MEDIA_BYTES + 1)
        if not isinstance(data, bytes):
            raise InvalidRequestError("a media file object must be opened in binary mode")
        return _from_bytes(data, name or getattr(item, "name", None))
    if not isinstance(item, str):
        raise InvalidRequestError(f"unsupported media item of type {type(item).__name__}")
    if item.startswith("data:"):
        header, comma, payload = item.partition(",")
        if not comma or not header.endswith(";base64"):
            raise InvalidRequestError("a data: URI must be base64: data:<type>;base64,<data>")
        if len(payload) * 3 // 4 > MAX_MEDIA_BYTES:
            raise InvalidRequestError(f"media item {name or ''} is larger than 20 MB")
        return Media(item, header[5:-7] or "application/octet-stream", name, False)
    if item.startswith(("https://", "http://")):
        return Media(item, _sniff(b"", name or item.split("?")[0]), name, True)
    if os.path.isfile(item):
        return _read_file(item, name)
    raise InvalidRequestError(
        f"media item {item[:80]!r} is not a file, a data: URI or an http(s) URL"
    )


def load_media(media: Any) -> list[Media]:
    """Every item of `media` (a list of items or of `(item, name)` pairs), checked and loaded."""
    if media is None:
        return []
    if not isinstance(media, list | tuple):
        raise InvalidRequestError("media must be a list of items or (item, name) pairs")
    loaded = []
    for entry in media:
        item, name = entry if isinstance(entry, tuple | list) and len(entry) == 2 else (entry, None)
        loaded.append(_one(item, name))
    return loaded
