"""The spec's image parameters and their pure translations, shared by every image provider.

An image provider declares the parameters it honours as explicit keywords of its
`create_async_generator` (so the framework refuses the others with `UnsupportedParameterError`
naming them and the provider); this module turns the user's values into what each API wants
(pixels, an aspect-ratio enum, a seed) and builds the README table from those signatures.
"""

from __future__ import annotations

import inspect
import random
import re
from collections.abc import Iterable, Sequence
from typing import Any

from ..errors import InvalidRequestError, UnsupportedParameterError
from ..typing import Messages

__all__ = [
    "IMAGE_PARAMETERS",
    "aspect_pixels",
    "check_n",
    "check_response_format",
    "closest_ratio",
    "honoured_parameters",
    "image_prompt",
    "parameter_table",
    "pixels",
    "refuse",
    "resolve_seed",
]

#: The spec's image parameters, in the README table's order.
IMAGE_PARAMETERS: tuple[str, ...] = (
    "n", "size", "width", "height", "aspect_ratio", "seed", "randomize_seed", "guidance_scale",
    "num_inference_steps", "negative_prompt", "safe", "enhance", "private", "image",
)  # fmt: skip

_SIZE = re.compile(r"^(\d{2,5})x(\d{2,5})$")
_RATIO = re.compile(r"^(\d{1,3}):(\d{1,3})$")
MAX_SEED = 2**31 - 1


def image_prompt(prompt: str | None, messages: Messages) -> str:
    """`prompt`, else the text of the last user message (chat-shaped calls)."""
    if prompt:
        return prompt
    for message in reversed(messages):
        if message.get("role") != "user":
            continue
        content = message.get("content")
        if isinstance(content, str):
            text = content
        else:
            parts = content if isinstance(content, list) else []
            text = " ".join(p.get("text", "") for p in parts if p.get("type") == "text")
        if text.strip():
            return text
    raise InvalidRequestError("an image needs a prompt (prompt= or a user message)")


def check_n(n: int | None, provider: str, limit: int = 10) -> int:
    """`n` (default 1) as a count between 1 and `limit`."""
    if n is None:
        return 1
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= limit:
        raise InvalidRequestError(
            f"n must be an integer from 1 to {limit}: {n!r}", provider=provider
        )
    return n


def _ratio(aspect_ratio: str, provider: str) -> tuple[int, int]:
    match = _RATIO.match(aspect_ratio) if isinstance(aspect_ratio, str) else None
    if not match or not int(match[1]) or not int(match[2]):
        raise InvalidRequestError(
            f"aspect_ratio must look like '16:9': {aspect_ratio!r}", provider=provider
        )
    return int(match[1]), int(match[2])


def aspect_pixels(aspect_ratio: str, provider: str, long_side: int = 1024) -> tuple[int, int]:
    """Width and height for `aspect_ratio` with the longer side `long_side`, multiples of 8."""
    w, h = _ratio(aspect_ratio, provider)
    short = max(8, round(long_side * min(w, h) / max(w, h) / 8) * 8)
    return (long_side, short) if w >= h else (short, long_side)


def pixels(
    provider: str,
    size: str | None = None,
    width: int | None = None,
    height: int | None = None,
    aspect_ratio: str | None = None,
) -> tuple[int, int] | None:
    """The width and height asked for through `size` ("WxH"), `width`/`height` or
    `aspect_ratio` (one of the three ways), or None when none was given."""
    ways = [w for w, v in (("size", size), ("width/height", width or height),
                           ("aspect_ratio", aspect_ratio)) if v]  # fmt: skip
    if len(ways) > 1:
        raise InvalidRequestError(f"give one of {' or '.join(ways)}, not both", provider=provider)
    if size:
        match = _SIZE.match(size) if isinstance(size, str) else None
        if not match:
            raise InvalidRequestError(
                f"size must look like '1024x768': {size!r}", provider=provider
            )
        return int(match[1]), int(match[2])
    if aspect_ratio:
        return aspect_pixels(aspect_ratio, provider)
    if width or height:
        for name, value in (("width", width), ("height", height)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                      or not 16 <= value <= 8192):  # fmt: skip
                raise InvalidRequestError(
                    f"{name} must be an integer from 16 to 8192: {value!r}", provider=provider
                )
        return width or height or 1024, height or width or 1024
    return None


def closest_ratio(
    provider: str, choices: Sequence[str], size: str | None = None, width: int | None = None,
    height: int | None = None, aspect_ratio: str | None = None,
) -> str | None:  # fmt: skip
    """The API's own aspect-ratio value (one of `choices`) for what was asked; a shape that is
    none of them is refused rather than distorted."""
    if aspect_ratio and not (size or width or height):
        _ratio(aspect_ratio, provider)
        if aspect_ratio in choices:
            return aspect_ratio
        wanted: tuple[int, int] | None = _ratio(aspect_ratio, provider)
    else:
        wanted = pixels(provider, size, width, height, aspect_ratio)
    if wanted is None:
        return None
    for choice in choices:
        w, h = _ratio(choice, provider)
        if abs(wanted[0] / wanted[1] - w / h) < 0.01:
            return choice
    raise UnsupportedParameterError(
        f"{provider} makes images in the aspect ratios {', '.join(choices)}, "
        f"not {wanted[0]}:{wanted[1]}",
        provider=provider,
    )


def resolve_seed(
    seed: int | None, randomize_seed: bool | None, provider: str, count: int = 1
) -> int | None:
    """The seed to send: `seed`, or a fresh random one with `randomize_seed=True` — or when
    `count` images are made one request each (seeds first, first+1, …): identical requests
    would give the same cached image."""
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise InvalidRequestError(f"seed must be an integer ≥ 0: {seed!r}", provider=provider)
    if randomize_seed and seed is not None:
        raise InvalidRequestError("give seed or randomize_seed, not both", provider=provider)
    if randomize_seed or (seed is None and count > 1):
        return random.randint(0, MAX_SEED - count + 1)
    return seed


def check_response_format(response_format: str | None, provider: str) -> None:
    if response_format not in (None, "url", "b64_json"):
        raise InvalidRequestError("response_format must be 'url' or 'b64_json'", provider=provider)


def refuse(parameter: str, provider: str, why: str) -> UnsupportedParameterError:
    """The error for a parameter the provider (or this model of it) cannot honour."""
    return UnsupportedParameterError(
        f"{provider} cannot honour {parameter}: {why}", provider=provider
    )


def honoured_parameters(provider: Any) -> list[str]:
    """The spec's image parameters `provider` takes (from its signature: the same data the
    framework checks calls against)."""
    params = inspect.signature(provider._create_signature_source()).parameters
    return [name for name in IMAGE_PARAMETERS if name in params]


def parameter_table(providers: Iterable[Any]) -> str:
    """The README's "Images" table: which provider honours which parameter."""
    providers = list(providers)
    head = "| parameter | " + " | ".join(p.__name__ for p in providers) + " |"
    rows = [head, "|---" * (len(providers) + 1) + "|"]
    taken = [set(honoured_parameters(p)) for p in providers]
    for name in IMAGE_PARAMETERS:
        notes = [getattr(p, "image_parameter_notes", {}).get(name) for p in providers]
        cells = [("✓" + (f" ({note})" if note else "")) if name in have else "—"
                 for have, note in zip(taken, notes, strict=True)]  # fmt: skip
        rows.append(f"| `{name}` | " + " | ".join(cells) + " |")
    return "\n".join(rows)
