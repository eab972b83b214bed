"""The OpenAI Images API, pure translation: `/images/generations` bodies, `/images/edits`
multipart forms, and the `{"data": [{"url" | "b64_json", "revised_prompt"}]}` answers."""

from __future__ import annotations

import secrets
from typing import Any

from ...errors import ResponseError
from ...providers.image_data import EXTENSIONS, decode_data_uri
from ...providers.image_params import aspect_pixels, pixels, refuse

__all__ = ["edit_form", "generation_body", "image_size", "parse_images", "revised_prompts"]

#: The sizes each OpenAI model makes (landscape, portrait); other endpoints take any "WxH".
_SIZES = {
    "gpt-image": ("1024x1024", "1536x1024", "1024x1536"),
    "dall-e-3": ("1024x1024", "1792x1024", "1024x1792"),
    "dall-e-2": ("256x256", "512x512", "1024x1024"),
}


def _family(model: str) -> str | None:
    return next((f for f in _SIZES if model.startswith(f)), None)


def image_size(
    provider: str, model: str, size: str | None, width: int | None, height: int | None,
    aspect_ratio: str | None,
) -> str | None:  # fmt: skip
    """The API's `size` value. OpenAI's own models take a fixed set: an aspect ratio maps to
    the one of its shape; a size outside the set is refused, not changed. "auto" (gpt-image
    models choose) is passed on."""
    if size == "auto" and not (width or height or aspect_ratio):
        return size
    asked = pixels(provider, size, width, height, aspect_ratio)
    if asked is None:
        return None
    family = _family(model)
    if family is None:
        return f"{asked[0]}x{asked[1]}"
    sizes = _SIZES[family]
    if aspect_ratio:
        w, h = aspect_pixels(aspect_ratio, provider)
        shape = "square" if w == h else "landscape" if w > h else "portrait"
        index = {"square": 0, "landscape": 1, "portrait": 2}[shape]
        if family == "dall-e-2" and shape != "square":
            raise refuse("aspect_ratio", provider, f"{model} makes square images only")
        return sizes[index if family != "dall-e-2" else 2]
    text = f"{asked[0]}x{asked[1]}"
    if text not in sizes:
        raise refuse("size", provider, f"{model} makes {', '.join(sizes)}")
    return text


def generation_body(
    model: str,
    prompt: str,
    n: int,
    size: str | None,
    response_format: str | None,
    quality: str | None = None,
    style: str | None = None,
) -> dict[str, Any]:
    """The JSON body of `POST /images/generations`. `response_format` is not sent to
    gpt-image models (they always answer base64 and refuse the field)."""
    body: dict[str, Any] = {"model": model, "prompt": prompt, "n": n}
    for name, value in (("size", size), ("quality", quality), ("style", style)):
        if value:
            body[name] = value
    if response_format and not model.startswith("gpt-image"):
        body["response_format"] = response_format
    return body


def edit_form(
    fields: dict[str, Any], image: tuple[bytes, str], boundary: str | None = None
) -> tuple[bytes, str]:
    """The multipart body of `POST /images/edits` and its Content-Type. The file is named
    `image.<ext>` from its sniffed type: no name given by the caller is sent."""
    boundary = boundary or f"llmrelay-{secrets.token_hex(12)}"
    out = bytearray()
    for name, value in fields.items():
        if value is None:
            continue
        out += f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
        out += f"{value}\r\n".encode()
    data, mime = image
    out += (
        f'--{boundary}\r\nContent-Disposition: form-data; name="image"; '
        f'filename="image.{EXTENSIONS[mime]}"\r\nContent-Type: {mime}\r\n\r\n'
    ).encode()
    out += data + f"\r\n--{boundary}--\r\n".encode()
    return bytes(out), f"multipart/form-data; boundary={boundary}"


def parse_images(body: Any, provider: str) -> list[str]:
    """URLs and `data:` URIs of the answer's images (base64 checked to be an image)."""
    items = body.get("data") if isinstance(body, dict) else None
    if not isinstance(items, list):
        raise ResponseError("the images answer has no 'data' list", provider=provider)
    images: list[str] = []
    for item in items:
        if isinstance(item, dict) and isinstance(item.get("b64_json"), str):
            uri = "data:image/png;base64," + item["b64_json"]
            _, mime = decode_data_uri(uri, provider)
            images.append(f"data:{mime};base64,{item['b64_json']}")
        elif isinstance(item, dict) and isinstance(item.get("url"), str):
            images.append(item["url"])
        else:
            raise ResponseError(
                "an image in the answer has neither url nor b64_json", provider=provider
            )
    return images


def revised_prompts(body: Any) -> list[str | None]:
    """Each image's `revised_prompt` (dall-e-3 rewrites prompts), None where there is none."""
    items = body.get("data") if isinstance(body, dict) else None
    return [item.get("revised_prompt") if isinstance(item, dict) else None
            for item in items or []]  # fmt: skip
