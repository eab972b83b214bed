"""OpenAI's `/v1/embeddings` request as the gateway receives it, checked (pure, no I/O).

`model` (required), `input` (a string, strings, token ids or lists of token ids), `dimensions`,
`encoding_format` (`float` or `base64`), `user`, and the `provider` extension. Only an
allow-list reaches a provider; what would redirect traffic or credentials (`api_base`,
`base_url`, `api_key`, `proxy`, `headers`, …) is refused by name unless the operator allows it,
as on chat. Errors are `FieldError`s naming the field.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from ...errors import InvalidRequestError
from ...providers.embeddings import normalize_input
from ..fields import FieldError, is_int, load_object, provider_field, take

__all__ = ["EmbeddingRequest", "parse_embeddings"]

_TEXT = lambda v: isinstance(v, str)  # noqa: E731

#: The fields passed on (besides model, input and provider), with their checks.
KNOWN = {"dimensions": is_int, "encoding_format": _TEXT, "user": _TEXT}


@dataclass(slots=True)
class EmbeddingRequest:
    """What `create_embeddings` takes, from one request."""

    model: str
    input: list[str] | list[list[int]]
    provider: str | None = None
    #: dimensions, encoding_format, user, and operator-allowed fields.
    params: dict[str, Any] = field(default_factory=dict)


def parse_embeddings(raw: bytes, allowed: Collection[str] = ()) -> EmbeddingRequest:
    """Check an embeddings request body (`FieldError` names what is wrong)."""
    body = load_object(raw)
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise FieldError("model", "model: required, a non-empty string")
    if "input" not in body:
        raise FieldError("input", "input: required")
    try:
        inputs = normalize_input(body["input"])
    except InvalidRequestError as exc:
        raise FieldError("input", f"input: {exc.message}") from None
    provider = provider_field(body)
    rest = {k: v for k, v in body.items() if k not in ("model", "input", "provider")}
    params = take(rest, KNOWN, (), allowed)
    dimensions = params.get("dimensions")
    if dimensions is not None and dimensions < 1:
        raise FieldError("dimensions", "dimensions: must be a positive integer")
    if params.get("encoding_format", "float") not in ("float", "base64"):
        raise FieldError("encoding_format", "encoding_format: must be 'float' or 'base64'")
    return EmbeddingRequest(model, inputs, provider, params)
