"""What every provider's `create_embeddings` shares: the input forms, the result, the batching.

A provider that makes embeddings has a classmethod

    async def create_embeddings(cls, model, input, *, dimensions=None, …) -> Embeddings

with an explicit keyword signature (an unknown parameter is a `TypeError` the client turns into
`UnsupportedParameterError` by name). It splits the input with `in_batches` into its API's
batch limit; the vectors come back in input order. Vectors are always floats here: the client
encodes base64 itself.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from ..errors import InvalidRequestError, ResponseError, UnsupportedParameterError
from ..transport.http import Request, open_response, read_json

__all__ = [
    "Batch",
    "EmbeddingInput",
    "Embeddings",
    "in_batches",
    "normalize_input",
    "post_json",
    "require_model",
    "texts_only",
]

#: One text, texts, one list of token ids, or lists of token ids (as OpenAI takes them).
EmbeddingInput = str | list[str] | list[int] | list[list[int]]
#: Batches sent at once by one call.
CONCURRENCY = 4

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class Batch:
    """One upstream answer: its vectors in the batch's order, and its token count."""

    vectors: list[list[float]]
    prompt_tokens: int = 0


@dataclass(frozen=True, slots=True)
class Embeddings:
    """A provider's answer: one vector per input, in input order."""

    vectors: list[list[float]]
    model: str
    prompt_tokens: int = 0


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def normalize_input(value: object) -> list[str] | list[list[int]]:
    """The input as a non-empty list of texts or of token-id lists."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple) and value:
        items = list(value)
        if all(isinstance(v, str) for v in items):
            return items
        if all(_is_int(v) for v in items):
            return [items]
        if all(isinstance(v, list | tuple) and v and all(_is_int(t) for t in v) for v in items):
            return [list(v) for v in items]
    raise InvalidRequestError(
        "input must be a string, a non-empty list of strings, a list of token ids "
        "or a list of lists of token ids"
    )


def require_model(model: object, owner: Any) -> str:
    """The model id to send: a name is required; the provider's (string) aliases are followed,
    so a gateway route `public → provider/model-id` sends the id."""
    name = owner.__name__
    if not model or not isinstance(model, str):
        raise InvalidRequestError("embeddings need a model name", provider=name)
    target = (getattr(owner, "model_aliases", None) or {}).get(model, model)
    return target if isinstance(target, str) else model


async def post_json(owner: Any, url: str, request: Request) -> Any:
    """POST `request`, its JSON answer checked by the provider's `raise_error`."""
    async with open_response("POST", url, request) as response:
        data = await read_json(response, request)
    owner.raise_error(data, secrets=request.secrets)
    return data


def texts_only(inputs: Sequence[str] | Sequence[list[int]], provider: str) -> list[str]:
    """The texts, or `UnsupportedParameterError` for token ids (only OpenAI's API takes them)."""
    if any(not isinstance(v, str) for v in inputs):
        raise UnsupportedParameterError(
            f"{provider} takes text input only, not token ids", provider=provider
        )
    return [v for v in inputs if isinstance(v, str)]


async def in_batches(
    inputs: Sequence[_T],
    size: int,
    send: Callable[[list[_T]], Awaitable[Batch]],
    concurrency: int = CONCURRENCY,
) -> tuple[list[list[float]], int]:
    """`send` each run of at most `size` inputs, at most `concurrency` at once; the vectors in
    input order and the summed token count. A batch answering the wrong count is an error."""
    limit = asyncio.Semaphore(concurrency)
    starts = range(0, len(inputs), size)

    async def one(start: int) -> Batch:
        async with limit:
            part = list(inputs[start : start + size])
            batch = await send(part)
        if len(batch.vectors) != len(part):
            raise ResponseError(f"asked for {len(part)} embeddings, got {len(batch.vectors)}")
        return batch

    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(one(start)) for start in starts]
    batches = [task.result() for task in tasks]
    vectors = [vector for batch in batches for vector in batch.vectors]
    return vectors, sum(batch.prompt_tokens for batch in batches)
