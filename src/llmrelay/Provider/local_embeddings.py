"""`LocalLlama.create_embeddings`: vectors from the in-process GGUF model (embedding mode).

- llama.cpp computes embeddings only in a context made with `embedding=True`: the model cache
  (`local_cache`) keeps those loads apart from chat loads, under the same bound.
- A model whose GGUF file names a pooling (embedding models: mean, CLS, last token) is pooled
  so; a model without one (a chat model) is loaded with mean pooling. Vectors have unit
  length, as OpenAI's do.
- `prompt_tokens` is exact: the tokens the model read (its BOS token included).
- An input longer than the context is refused (400), never cut silently.
- Text only: token-id input is refused by name. `dimensions` is refused too (it is not in the
  signature): cutting a vector short and renormalising, as OpenAI does for its v3 models, only
  keeps meaning for models trained for it (Matryoshka), and a GGUF file does not say which.
"""

from __future__ import annotations

from typing import Any

from ..errors import InvalidRequestError
from ..providers.asyncio import run_in_executor
from ..providers.embeddings import Embeddings, normalize_input, texts_only
from .local_cache import DEFAULT_CONTEXT, LoadedModel, import_llama, models

__all__ = ["LocalEmbeddings"]


def _embed(loaded: LoadedModel, texts: list[str]) -> tuple[list[list[float]], int]:
    """The vectors of `texts` and the tokens read, under the model's lock."""
    llama = loaded.llama
    with loaded.lock:
        try:
            data, tokens = llama.embed(texts, normalize=True, truncate=False, return_count=True)
        except ValueError as exc:  # "Requested tokens (n) exceed batch size of m"
            raise InvalidRequestError(
                f"an input is longer than the model's context ({llama.n_ctx()} tokens): {exc}",
                provider="LocalLlama",
            ) from None
    return [[float(x) for x in vector] for vector in data], int(tokens)


class LocalEmbeddings:
    """`create_embeddings` of `LocalLlama` (mixed into it)."""

    @classmethod
    async def create_embeddings(
        cls,
        model: str,
        input: Any,
        *,
        n_ctx: int = DEFAULT_CONTEXT,
        timeout: float | None = None,
    ) -> Embeddings:
        """One unit vector per text, in order. `n_ctx` is the context the model is loaded
        with (the longest input it takes); `timeout` is accepted as chat's is, and unused."""
        owner: Any = cls
        texts = texts_only(normalize_input(input), "LocalLlama")
        import_llama()
        name = owner.get_model(model)
        path = await owner.model_path(name)
        loaded = await run_in_executor(lambda: models.get(path, n_ctx, embedding=True))
        vectors, tokens = await run_in_executor(lambda: _embed(loaded, texts))
        return Embeddings(vectors, name or path.name, tokens)
