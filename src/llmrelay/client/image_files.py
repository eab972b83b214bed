"""What `images.generate` hands back: the provider's images as URLs or base64, as asked, and
with `save_to=DIR` written to files with generated names inside DIR only."""

from __future__ import annotations

import asyncio
import base64
import os
import secrets
import time
from pathlib import Path

from ..errors import InvalidRequestError
from ..providers.image_data import EXTENSIONS, decode_data_uri, fetch_image
from .types import Image

__all__ = ["image_results", "save_image"]


def save_image(data: bytes, mime: str, directory: str | os.PathLike[str]) -> Path:
    """Write `data` to a new file in `directory` (created if missing). The name is generated
    (time and random hex) and the extension comes from the sniffed type: nothing from the
    provider or the prompt reaches the filesystem. Never overwrites, never follows a link."""
    folder = Path(directory)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        folder = folder.resolve(strict=True)
    except OSError as exc:
        raise InvalidRequestError(f"cannot use save_to={str(directory)!r}: {exc}") from None
    name = f"image-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(6)}.{EXTENSIONS[mime]}"
    path = folder / name
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags | getattr(os, "O_BINARY", 0), 0o644)
    with os.fdopen(fd, "wb") as file:
        file.write(data)
    return path


async def image_results(
    refs: list[str],
    response_format: str,
    save_to: str | os.PathLike[str] | None,
    *,
    provider: str,
    proxy: str | None = None,
    timeout: float | None = None,
) -> list[Image]:
    """`Image`s for the provider's URLs and `data:` URIs: `url` (a `data:` URI when the
    provider gave only bytes) or `b64_json` (a URL downloaded, capped and checked to be an
    image); `path` set when saved."""
    images: list[Image] = []
    for ref in refs:
        data: bytes | None = None
        mime = ""
        if ref.startswith("data:"):
            data, mime = decode_data_uri(ref, provider)
        elif response_format == "b64_json" or save_to is not None:
            data, mime = await fetch_image(ref, provider=provider, proxy=proxy, timeout=timeout)
        image = Image()
        if response_format == "b64_json" and data is not None:
            image.b64_json = base64.b64encode(data).decode()
        else:
            image.url = ref
        if save_to is not None and data is not None:
            image.path = str(await asyncio.to_thread(save_image, data, mime, save_to))
        images.append(image)
    return images
