"""Image bytes: their real type (from the magic bytes), `data:` URIs, images given for edits,
and the one capped download of a provider's result URL (`fetch_image`; swap it for the
SSRF-guarded media fetcher when that lands)."""

from __future__ import annotations

import base64
import binascii
import os
from typing import Any

from ..errors import InvalidRequestError, ResponseError
from ..transport.http import Request, Timeouts, open_response

__all__ = [
    "EXTENSIONS",
    "MAX_IMAGE_BYTES",
    "data_uri",
    "decode_data_uri",
    "fetch_image",
    "image_input",
    "read_capped",
    "sniff_image_type",
]

#: No image is read (downloaded, decoded or loaded for an edit) past this size.
MAX_IMAGE_BYTES = 20 << 20

#: MIME type → file extension, for the types `sniff_image_type` recognises.
EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp", "image/gif": "gif"}


def sniff_image_type(data: bytes) -> str | None:
    """The image's MIME type from its first bytes (PNG, JPEG, WebP, GIF), or None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    return None


def _checked(data: bytes, provider: str | None, what: str) -> tuple[bytes, str]:
    if len(data) > MAX_IMAGE_BYTES:
        raise ResponseError(f"{what} is larger than {MAX_IMAGE_BYTES} bytes", provider=provider)
    mime = sniff_image_type(data)
    if mime is None:
        raise ResponseError(f"{what} is not a PNG, JPEG, WebP or GIF image", provider=provider)
    return data, mime


def data_uri(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def decode_data_uri(uri: str, provider: str | None = None) -> tuple[bytes, str]:
    """The image in a `data:…;base64,` URI, checked to be one (and within the cap)."""
    head, _, payload = uri.partition(",")
    if not head.startswith("data:") or not head.endswith(";base64"):
        raise ResponseError("not a base64 data: URI", provider=provider)
    if len(payload) > MAX_IMAGE_BYTES * 4 // 3 + 4:
        raise ResponseError(f"the image is larger than {MAX_IMAGE_BYTES} bytes", provider=provider)
    try:
        data = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ResponseError("invalid base64 image data", provider=provider) from exc
    return _checked(data, provider, "the image")


async def fetch_image(
    url: str,
    *,
    provider: str,
    proxy: str | None = None,
    timeout: float | Timeouts | None = None,
    max_retries: int = 2,
    max_bytes: int | None = None,
) -> tuple[bytes, str]:
    """Download an image a provider made: refused past `max_bytes` (read no further) or when
    the bytes are not an image. The only place result URLs are fetched."""
    if not url.startswith(("http://", "https://")):
        raise ResponseError(f"not an http(s) image URL: {url[:100]!r}", provider=provider)
    max_bytes = MAX_IMAGE_BYTES if max_bytes is None else max_bytes
    request = Request(provider=provider, proxy=proxy, timeouts=Timeouts.from_param(timeout),
                      max_retries=max_retries)  # fmt: skip
    async with open_response("GET", url, request) as response:
        length = response.content_length
        if length is not None and length > max_bytes:
            raise ResponseError(f"the image is larger than {max_bytes} bytes", provider=provider)
        data = await read_capped(response, provider, max_bytes)
    mime = sniff_image_type(data)
    if mime is None:
        raise ResponseError("the download is not a PNG, JPEG, WebP or GIF image", provider=provider)
    return data, mime


async def read_capped(response: Any, provider: str, max_bytes: int | None = None) -> bytes:
    """The body, refused as soon as it passes `max_bytes` (default `MAX_IMAGE_BYTES`; nothing
    more is read)."""
    max_bytes = MAX_IMAGE_BYTES if max_bytes is None else max_bytes
    data = bytearray()
    async for chunk in response.content.iter_chunked(1 << 16):
        data += chunk
        if len(data) > max_bytes:
            raise ResponseError(f"the image is larger than {max_bytes} bytes", provider=provider)
    return bytes(data)


def image_input(image: Any, provider: str) -> tuple[bytes, str]:
    """An image given for an edit: bytes, a path, a `data:` URI or a binary file object."""
    if isinstance(image, str) and image.startswith("data:"):
        try:
            return decode_data_uri(image, provider)
        except ResponseError as exc:
            raise InvalidRequestError(str(exc), provider=provider) from None
    if isinstance(image, str | os.PathLike):
        try:
            with open(image, "rb") as file:
                data = file.read(MAX_IMAGE_BYTES + 1)
        except OSError as exc:
            raise InvalidRequestError(f"cannot read the image: {exc}", provider=provider) from None
    elif isinstance(image, bytes | bytearray):
        data = bytes(image)
    elif hasattr(image, "read"):
        data = image.read(MAX_IMAGE_BYTES + 1)
    else:
        raise InvalidRequestError(
            f"image must be bytes, a path or a file, not {type(image).__name__}", provider=provider
        )
    if not isinstance(data, bytes):
        raise InvalidRequestError("image files must be opened in binary mode", provider=provider)
    try:
        return _checked(data, provider, "the image")
    except ResponseError as exc:
        raise InvalidRequestError(str(exc), provider=provider) from None
