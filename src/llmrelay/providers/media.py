"""Media inputs (`media=[(data, name), …]`) turned into what chat APIs accept.

An item is bytes, a path (str or PathLike), an open binary file, a `data:` URI or an http(s)
URL. Local data becomes a `data:` URI with its type sniffed from the bytes (or the name). Any
other scheme (`file:`, `javascript:`, `ftp:`, …) is refused, and local paths only count when
`allow_local_files` (the default in-process; a gateway passes False).

URLs pass `transport.media_fetch.check_url` (no internal names or non-public addresses) and are
either passed on for a hosted API to fetch, or, for a provider whose server needs bytes or sits
in the operator's own network (Ollama, local OpenAI-compatible servers), fetched by llmrelay's
one guarded fetcher (`fetch_urls`, `inline_message_urls`) and sent as `data:` URIs.
"""

from __future__ import annotations

import base64
import os
import re
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidRequestError
from ..transport import media_fetch

__all__ = ["MAX_MEDIA_BYTES", "Media", "fetch_urls", "inline_message_urls", "load_media"]

#: Largest local file accepted as one media item.
MAX_MEDIA_BYTES = 20 << 20

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_WINDOWS_DRIVE = re.compile(r"^[A-Za-z]:[\\/]")
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


def _no_local(item: object) -> InvalidRequestError:
    return InvalidRequestError(
        f"media item {str(item)[:80]!r}: local files are not accepted here; pass the bytes, a "
        "data: URI or an http(s) URL"
    )


def _one(item: Any, name: str | None, allow_local_files: bool) -> Media:
    if isinstance(item, bytes | bytearray | memoryview):
        return _from_bytes(bytes(item), name)
    if isinstance(item, os.PathLike):
        if not allow_local_files:
            raise _no_local(item)
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
    if item[:8].lower().startswith(("https://", "http://")):
        media_fetch.check_url(item)
        return Media(item, _sniff(b"", name or item.split("?")[0]), name, True)
    if _SCHEME.match(item) and not _WINDOWS_DRIVE.match(item):
        raise InvalidRequestError(
            f"media item {item.split(':', 1)[0][:20]!r}: URL scheme not accepted; use http(s) "
            "or data:"
        )
    if not allow_local_files:
        raise _no_local(item)
    if os.path.isfile(item):
        return _read_file(item, name)
    raise InvalidRequestError(
        f"media item {item[:80]!r} is not a file, a data: URI or an http(s) URL"
    )


def load_media(media: Any, *, allow_local_files: bool = True) -> list[Media]:
    """Every item of `media` (a list of items or of `(item, name)` pairs), checked and loaded;
    paths are read only if `allow_local_files`."""
    if media is None:
        return []
    if not isinstance(media, list | tuple):
        raise InvalidRequestError("media must be a list of items or (item, name) pairs")
    loaded = []
    for entry in media:
        item, name = entry if isinstance(entry, tuple | list) and len(entry) == 2 else (entry, None)
        loaded.append(_one(item, name, allow_local_files))
    return loaded


async def _fetched(url: str, name: str | None, allow_private: bool | None) -> Media:
    data, content_type = await media_fetch.fetch(
        url, allow_private=allow_private, max_bytes=MAX_MEDIA_BYTES
    )
    media = _from_bytes(data, name or url.split("?")[0].rsplit("/", 1)[-1] or None)
    if media.mime_type == "application/octet-stream" and content_type:
        mime = content_type
        return Media(media.uri.replace("application/octet-stream", mime, 1), mime, name, False)
    return media


async def fetch_urls(items: list[Media], *, allow_private: bool | None = None) -> list[Media]:
    """`items` with every URL fetched (by the guarded fetcher) into a `data:` item."""
    return [
        await _fetched(item.uri, item.name, allow_private) if item.is_url else item
        for item in items
    ]


async def inline_message_urls(
    messages: list[dict[str, Any]], *, allow_private: bool | None = None
) -> list[dict[str, Any]]:
    """`messages` with the http(s) URL of every `image_url` part fetched into a `data:` URI
    (the messages given are not changed; unchanged messages are shared)."""
    out = []
    for message in messages:
        content = message.get("content")
        if isinstance(content, list) and any(_is_url_part(p) for p in content):
            parts = []
            for part in content:
                if _is_url_part(part):
                    image = part["image_url"]
                    url = image["url"] if isinstance(image, dict) else image
                    item = await _fetched(url, None, allow_private)
                    detail = image.get("detail") if isinstance(image, dict) else None
                    payload = {"url": item.uri} | ({"detail": detail} if detail else {})
                    part = {"type": "image_url", "image_url": payload}
                parts.append(part)
            message = {**message, "content": parts}
        out.append(message)
    return out


def _is_url_part(part: Any) -> bool:
    if not isinstance(part, dict) or part.get("type") != "image_url":
        return False
    image = part.get("image_url")
    url = image.get("url") if isinstance(image, dict) else image
    return isinstance(url, str) and url[:8].lower().startswith(("http://", "https://"))
