"""`client.embeddings.create(...)`: OpenAI's `CreateEmbeddingResponse` from any provider that
has `create_embeddings` (see `providers.embeddings`).

    response = client.embeddings.create(model="text-embedding-3-small", input=["a", "b"])
    response.data[0].embedding                     # list[float], or base64 (encoding_format)

`create_embeddings(provider, model, input, …)` is the one implementation; the gateway calls it
with the provider it chose and the request body's fields. Given the model-name router
(`routing.auto`, the client's default), it takes the first provider serving the model that
makes embeddings (no failover: two providers' vectors are not comparable).
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal

from ..errors import InvalidRequestError, ModelNotFoundError, UnsupportedParameterError
from ..protocols.openai.embeddings import encode_base64
from ..providers.asyncio import run_sync
from ..providers.embeddings import normalize_input
from ..providers.routing import Router, providers_for_model
from ..providers.types import BaseRetryProvider, ProviderType
from .types import _Model

if TYPE_CHECKING:
    from .client import _Settings

__all__ = [
    "AsyncEmbeddings",
    "CreateEmbeddingResponse",
    "Embedding",
    "EmbeddingUsage",
    "Embeddings",
    "create_embeddings",
]


@dataclasses.dataclass(slots=True)
class Embedding(_Model):
    index: int
    embedding: list[float] | str
    object: Literal["embedding"] = "embedding"


@dataclasses.dataclass(slots=True)
class EmbeddingUsage(_Model):
    prompt_tokens: int = 0
    total_tokens: int = 0


@dataclasses.dataclass(slots=True)
class CreateEmbeddingResponse(_Model):
    data: list[Embedding]
    model: str
    usage: EmbeddingUsage
    object: Literal["list"] = "list"
    provider: str | None = None


@functools.lru_cache(maxsize=64)
def _accepted(function: Callable[..., Any]) -> frozenset[str]:
    return frozenset(inspect.signature(function).parameters)


async def _embedder(provider: ProviderType, model: str) -> tuple[str, Callable[..., Any]]:
    if isinstance(provider, Router):  # by model name: the first that makes embeddings
        found = [p for p in await providers_for_model(model, provider.names)
                 if getattr(p, "create_embeddings", None) is not None]  # fmt: skip
        if not found:
            raise ModelNotFoundError(f"no provider serving {model!r} makes embeddings")
        provider = found[0]
    name = getattr(provider, "__name__", None) or type(provider).__name__
    if isinstance(provider, BaseRetryProvider):
        raise InvalidRequestError(
            "embeddings need one provider: pass provider=… (or a client base_url)"
        )
    create = getattr(provider, "create_embeddings", None)
    if create is None:
        raise UnsupportedParameterError(f"{name} makes no embeddings", provider=name)
    return name, create


async def create_embeddings(
    provider: ProviderType,
    model: str,
    input: Any,
    *,
    dimensions: int | None = None,
    encoding_format: str = "float",
    user: str | None = None,
    options: Mapping[str, Any] | None = None,
    **params: Any,
) -> CreateEmbeddingResponse:
    """Embeddings of `input` from `provider` as OpenAI's response. `params` go to the provider
    (api_key, api_base, timeout, proxy, …); one it does not take is refused by name, as is
    `dimensions` or `user` where its API has no such thing. `options` go only where the
    provider takes them (the gateway's upstream timeout and retries)."""
    if encoding_format not in ("float", "base64"):
        raise InvalidRequestError("encoding_format must be 'float' or 'base64'")
    if dimensions is not None and (
        isinstance(dimensions, bool) or not isinstance(dimensions, int) or dimensions < 1
    ):
        raise InvalidRequestError(f"dimensions must be a positive integer: {dimensions!r}")
    inputs = normalize_input(input)
    name, create = await _embedder(provider, model)
    wanted = {"dimensions": dimensions, "user": user}
    params.update({k: v for k, v in wanted.items() if v is not None})
    accepted = _accepted(create)
    for key, value in (options or {}).items():
        if key in accepted and key not in params:
            params[key] = value
    for key in params:
        if key not in accepted:
            raise UnsupportedParameterError(
                f"{name} does not support the parameter {key!r} for embeddings", provider=name
            )
    result = await create(model, inputs, **params)
    if encoding_format == "base64":
        data = [Embedding(i, encode_base64(v)) for i, v in enumerate(result.vectors)]
    else:
        data = [Embedding(i, v) for i, v in enumerate(result.vectors)]
    usage = EmbeddingUsage(result.prompt_tokens, result.prompt_tokens)
    return CreateEmbeddingResponse(data, result.model, usage, provider=name)


class AsyncEmbeddings:
    """`client.embeddings` of `AsyncClient`."""

    def __init__(self, settings: _Settings) -> None:
        self._settings = settings

    async def create(
        self,
        *,
        model: str,
        input: Any,
        provider: ProviderType | str | None = None,
        **params: Any,
    ) -> CreateEmbeddingResponse:
        """As OpenAI's: `dimensions`, `encoding_format` ("float" or "base64"), `user`."""
        settings = self._settings
        chosen, extra = settings.choose(provider)
        for key, value in (("proxy", settings.proxy), ("timeout", settings.timeout),
                           ("max_retries", settings.max_retries)):  # fmt: skip
            if value is not None:
                extra[key] = value
        return await create_embeddings(chosen, model, input, **{**extra, **params})


class Embeddings:
    """`client.embeddings` of `Client`: the async one through the bridge."""

    def __init__(self, inner: AsyncEmbeddings) -> None:
        self._inner = inner

    def create(self, **params: Any) -> CreateEmbeddingResponse:
        return run_sync(self._inner.create(**params))
