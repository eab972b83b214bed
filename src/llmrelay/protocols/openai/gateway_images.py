"""OpenAI's Images API requests as the gateway receives them (`/v1/images/generations` as
JSON, `/v1/images/edits` as multipart), checked and turned into `generate_images` arguments.

Only an allow-list reaches a provider; what would touch the gateway's files or redirect its
traffic (`save_to`, `base_url`, `api_base`, `proxy`, …) is refused by name, as on chat.
"""

from __future__ import annotations

import email.parser
import email.policy
from collections.abc import Collection
from typing import Any

from ..fields import FieldError, is_int, is_number, load_object, take

__all__ = ["ImageRequest", "parse_edit", "parse_generation"]

_TEXT = lambda v: isinstance(v, str)  # noqa: E731
_BOOL = lambda v: isinstance(v, bool)  # noqa: E731

#: OpenAI's fields, the spec's image parameters, and the `provider` extension.
KNOWN = {
    "prompt": _TEXT, "model": _TEXT, "n": is_int, "size": _TEXT, "response_format": _TEXT,
    "provider": _TEXT, "seed": is_int, "randomize_seed": _BOOL, "guidance_scale": is_number,
    "num_inference_steps": is_int, "aspect_ratio": _TEXT, "negative_prompt": _TEXT,
    "safe": _BOOL, "enhance": _BOOL, "private": _BOOL, "width": is_int, "height": is_int,
}  # fmt: skip
#: Accepted from the OpenAI SDK and not passed on (no provider-side meaning here).
IGNORED = frozenset({"user"})
#: Never from a remote caller, whatever the operator allows: they reach the gateway's files.
_LOCAL_ONLY = frozenset({"save_to"})


class ImageRequest:
    """What `generate_images` takes, from one request."""

    def __init__(self, fields: dict[str, Any], image: bytes | None = None) -> None:
        prompt = fields.pop("prompt", None)
        if not isinstance(prompt, str) or not prompt.strip():
            raise FieldError("prompt", "prompt: a non-empty string is required")
        if fields.get("response_format", "url") not in ("url", "b64_json"):
            raise FieldError("response_format", "response_format: must be 'url' or 'b64_json'")
        self.prompt = prompt
        self.model: str = fields.pop("model", "") or ""
        self.provider: str | None = fields.pop("provider", None)
        self.image = image
        self.params = fields


def _checked(body: Any, allowed: Collection[str]) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise FieldError("body", "the body must be a JSON object")
    for name in _LOCAL_ONLY & body.keys():
        raise FieldError(name, f"{name}: refused — files are written by the caller, not here")
    return take(body, KNOWN, IGNORED, allowed)


def parse_generation(raw: bytes, allowed: Collection[str]) -> ImageRequest:
    return ImageRequest(_checked(load_object(raw), allowed))


def parse_edit(raw: bytes, content_type: str, allowed: Collection[str]) -> ImageRequest:
    """A multipart form: text fields as OpenAI sends them, `image` (or `image[]`) a file."""
    if not content_type.lower().startswith("multipart/form-data"):
        raise FieldError("body", "an edit is a multipart/form-data form")
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + raw)
    fields: dict[str, Any] = {}
    image: bytes | None = None
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        decoded = part.get_payload(decode=True)
        payload = decoded if isinstance(decoded, bytes) else b""
        if name in ("image", "image[]"):
            if image is not None:
                raise FieldError("image", "image: one image per edit here")
            image = payload
        elif isinstance(name, str):
            fields[name] = _form_value(name, payload.decode("utf-8", "replace"))
    if image is None:
        raise FieldError("image", "image: an image file is required")
    return ImageRequest(_checked(fields, allowed), image)


def _form_value(name: str, text: str) -> Any:
    """Form fields are text: numbers and booleans back to their JSON types."""
    check = KNOWN.get(name)
    if check in (is_int, is_number):
        try:
            return int(text) if check is is_int else float(text)
        except ValueError:
            return text  # refused by its check, naming the field
    if check is _BOOL and text in ("true", "false"):
        return text == "true"
    return text
