"""Embeddings for `OllamaNative`: `POST /api/embed` (`{"model", "input": [...]}` →
`{"embeddings": [[…]], "prompt_eval_count"}`). Ollama has no `dimensions`: it is refused."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from ..errors import ResponseError
from ..providers.embeddings import (
    Batch,
    Embeddings,
    in_batches,
    normalize_input,
    post_json,
    require_model,
    texts_only,
)
from ..transport.http import DEFAULT_MAX_RETRIES, Request, Timeouts

__all__ = ["OllamaEmbeddings", "build_request", "parse_response"]


def build_request(
    model: str, texts: list[str], truncate: bool | None, keep_alive: str | int | None
) -> dict[str, Any]:
    body: dict[str, Any] = {"model": model, "input": texts}
    if truncate is not None:
        body["truncate"] = truncate
    if keep_alive is not None:
        body["keep_alive"] = keep_alive
    return body


def parse_response(data: Any, provider: str) -> Batch:
    vectors = data.get("embeddings") if isinstance(data, Mapping) else None
    if not isinstance(vectors, list) or not all(isinstance(v, list) for v in vectors):
        raise ResponseError(f"unexpected answer: {str(data)[:200]!r}", provider=provider)
    tokens = data.get("prompt_eval_count")
    return Batch([[float(x) for x in v] for v in vectors],
                 tokens if isinstance(tokens, int) else 0)  # fmt: skip


class OllamaEmbeddings:
    """`create_embeddings` for Ollama's native API."""

    #: Texts per request (Ollama sets no limit; this bounds one request's size).
    embedding_batch_size: ClassVar[int] = 256

    @classmethod
    async def create_embeddings(
        cls,
        model: str,
        input: Any,
        *,
        truncate: bool | None = None,
        keep_alive: str | int | None = None,
        api_key: str | None = None,
        api_base: str | None = None,
        timeout: float | Timeouts | None = None,
        proxy: str | None = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
    ) -> Embeddings:
        owner: Any = cls
        name = owner.__name__
        texts = texts_only(normalize_input(input), name)
        model = owner.get_model(require_model(model, owner))
        base = owner.resolve_api_base(api_base)
        key = owner.resolve_api_key(api_key)

        async def send(part: list[str]) -> Batch:
            request = Request(
                provider=name, headers=owner._headers(key, stream=False),
                json=build_request(model, part, truncate, keep_alive), proxy=proxy,
                timeouts=Timeouts.from_param(timeout), max_retries=max_retries, secrets=(key,),
            )  # fmt: skip
            return parse_response(await post_json(owner, f"{base}/api/embed", request), name)

        vectors, tokens = await in_batches(texts, cls.embedding_batch_size, send)
        return Embeddings(vectors, model, tokens)
