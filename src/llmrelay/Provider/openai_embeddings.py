"""Embeddings for `OpenaiTemplate` and its presets: `POST {api_base}/embeddings`."""

from __future__ import annotations

from typing import Any, ClassVar

from ..protocols.openai.embeddings import build_request, parse_response
from ..providers.embeddings import (
    Batch,
    Embeddings,
    in_batches,
    normalize_input,
    post_json,
    require_model,
)
from ..transport.http import DEFAULT_MAX_RETRIES, Request, Timeouts

__all__ = ["OpenAIEmbeddings"]


class OpenAIEmbeddings:
    """`create_embeddings` for an OpenAI-compatible provider class (mixed into it)."""

    #: Inputs per request (OpenAI takes at most 2048).
    embedding_batch_size: ClassVar[int] = 2048

    @classmethod
    async def create_embeddings(
        cls,
        model: str,
        input: Any,
        *,
        dimensions: int | None = None,
        user: str | None = None,
        api_key: str | None = None,
        api_base: str | None = None,
        timeout: float | Timeouts | None = None,
        proxy: str | None = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
    ) -> Embeddings:
        """One vector per input, in order; large inputs are sent in batches."""
        inputs = normalize_input(input)
        owner: Any = cls
        base = owner.resolve_api_base(api_base)
        key = owner.resolve_api_key(api_key)
        name = owner.__name__
        model = require_model(model, owner)

        async def send(part: list[Any]) -> Batch:
            request = Request(
                provider=name, headers=owner._headers(key, stream=False),
                json=build_request(model, part, dimensions=dimensions, user=user),
                proxy=proxy, timeouts=Timeouts.from_param(timeout), max_retries=max_retries,
                secrets=(key,),
            )  # fmt: skip
            return parse_response(await post_json(owner, f"{base}/embeddings", request), name)

        vectors, tokens = await in_batches(inputs, cls.embedding_batch_size, send)
        return Embeddings(vectors, model, tokens)
