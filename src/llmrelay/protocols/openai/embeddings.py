"""OpenAI's `/embeddings` wire format, I/O-free: the request body and the answer's vectors.

The answer's `data` is put back in `index` order; an embedding sent as base64 (some
compatible servers answer so whatever was asked) is decoded as little-endian float32.
"""

from __future__ import annotations

import base64
import struct
from collections.abc import Mapping
from typing import Any

from ...errors import ResponseError
from ...providers.embeddings import Batch

__all__ = ["build_request", "decode_base64", "encode_base64", "parse_response"]


def build_request(
    model: str,
    inputs: list[str] | list[list[int]],
    *,
    dimensions: int | None = None,
    user: str | None = None,
) -> dict[str, Any]:
    """The `/embeddings` body; floats are always asked for (the client encodes base64)."""
    body: dict[str, Any] = {"model": model, "input": inputs, "encoding_format": "float"}
    if dimensions is not None:
        body["dimensions"] = dimensions
    if user is not None:
        body["user"] = user
    return body


def encode_base64(vector: list[float]) -> str:
    """A vector as OpenAI's base64: little-endian float32."""
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode("ascii")


def decode_base64(text: str) -> list[float]:
    raw = base64.b64decode(text)
    return list(struct.unpack(f"<{len(raw) // 4}f", raw))


def _vector(value: Any, provider: str) -> list[float]:
    if isinstance(value, str):
        return decode_base64(value)
    if isinstance(value, list) and all(isinstance(v, int | float) for v in value):
        return [float(v) for v in value]
    raise ResponseError(f"an embedding is not a list of numbers: {str(value)[:80]!r}",
                        provider=provider)  # fmt: skip


def parse_response(data: Any, provider: str) -> Batch:
    """The vectors of a `CreateEmbeddingResponse`, in index order, and its prompt tokens."""
    items = data.get("data") if isinstance(data, Mapping) else None
    if not isinstance(items, list) or not all(isinstance(i, Mapping) for i in items):
        raise ResponseError(f"unexpected answer: {str(data)[:200]!r}", provider=provider)
    ordered = sorted(items, key=lambda item: item.get("index", 0))
    usage = data.get("usage")
    tokens = usage.get("prompt_tokens") if isinstance(usage, Mapping) else None
    return Batch([_vector(item.get("embedding"), provider) for item in ordered],
                 tokens if isinstance(tokens, int) else 0)  # fmt: skip
