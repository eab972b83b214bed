"""LocalLlama's embeddings: the tiny F32 model (with and without pooling in its metadata) and
the bundled SmolLM2, in process; chat and embedding loads kept apart in the bounded cache."""

from __future__ import annotations

import base64
import math
import pathlib
import struct

import gguf
import pytest

from llmrelay.client.embeddings import create_embeddings
from llmrelay.errors import InvalidRequestError, UnsupportedParameterError
from llmrelay.Provider import LocalLlama, local_cache
from support.tiny_gguf import EMBEDDING_LENGTH, write_tiny_llama

pytestmark = pytest.mark.integration

TEXTS = ["hello world", "the cat", "a dog and a cat"]


def norm(vector: list[float]) -> float:
    return math.sqrt(sum(x * x for x in vector))


def cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True)) / (norm(a) * norm(b))


@pytest.fixture(scope="module")
def mean_pooled_path(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """The tiny model's weights, its metadata naming mean pooling (an 'embedding model')."""
    path = tmp_path_factory.mktemp("models") / "tiny-mean.gguf"
    return write_tiny_llama(path, seed=0, pooling=gguf.PoolingType.MEAN)


async def test_unit_vectors_in_input_order_with_exact_token_counts(
    tiny_llama_path: pathlib.Path,
) -> None:
    answer = await LocalLlama.create_embeddings(str(tiny_llama_path), TEXTS, n_ctx=512)
    assert len(answer.vectors) == 3
    assert all(len(v) == EMBEDDING_LENGTH for v in answer.vectors)
    assert all(abs(norm(v) - 1) < 1e-6 for v in answer.vectors)
    for text, vector in zip(TEXTS, answer.vectors, strict=True):  # one at a time: the same
        alone = await LocalLlama.create_embeddings(str(tiny_llama_path), text, n_ctx=512)
        assert alone.vectors[0] == pytest.approx(vector, abs=1e-5)
    loaded = next(m for m in local_cache.models.loaded() if m.embedding)
    expected = sum(len(loaded.llama.tokenize(t.encode())) for t in TEXTS)
    assert answer.prompt_tokens == expected  # BOS included: the tokens the model read
    assert len(set(map(tuple, answer.vectors))) == 3


async def test_a_model_without_pooling_is_mean_pooled_as_one_that_names_it(
    tiny_llama_path: pathlib.Path, mean_pooled_path: pathlib.Path
) -> None:
    plain = await LocalLlama.create_embeddings(str(tiny_llama_path), TEXTS, n_ctx=512)
    named = await LocalLlama.create_embeddings(str(mean_pooled_path), TEXTS, n_ctx=512)
    for a, b in zip(plain.vectors, named.vectors, strict=True):
        assert a == pytest.approx(b, abs=1e-5)


async def test_chat_and_embedding_loads_are_kept_apart_and_bounded(
    tiny_llama_path: pathlib.Path,
) -> None:
    local_cache.models.clear()
    chat = LocalLlama.create_async_generator(
        str(tiny_llama_path), [{"role": "user", "content": "hi"}], max_tokens=2, n_ctx=512
    )
    assert any(isinstance(c, str) for c in [c async for c in chat])
    await LocalLlama.create_embeddings(str(tiny_llama_path), "hi", n_ctx=512)
    loaded = local_cache.models.loaded()
    assert sorted(m.embedding for m in loaded) == [False, True]
    assert all(m.path == tiny_llama_path for m in loaded)
    chat = LocalLlama.create_async_generator(  # the chat load still answers chat
        str(tiny_llama_path), [{"role": "user", "content": "hi"}], max_tokens=2, n_ctx=512
    )
    assert any(isinstance(c, str) for c in [c async for c in chat])
    for n_ctx in (128, 256):
        await LocalLlama.create_embeddings(str(tiny_llama_path), "hi", n_ctx=n_ctx)
    assert len(local_cache.models.loaded()) == local_cache.MAX_LOADED_MODELS


async def test_refused_by_name_and_long_input_refused(tiny_llama_path: pathlib.Path) -> None:
    model = str(tiny_llama_path)
    with pytest.raises(UnsupportedParameterError, match="'dimensions'"):
        await create_embeddings(LocalLlama, model, "hi", dimensions=8, n_ctx=512)
    with pytest.raises(UnsupportedParameterError, match="token ids"):
        await create_embeddings(LocalLlama, model, [[1, 2, 3]], n_ctx=512)
    with pytest.raises(InvalidRequestError, match="longer than the model's context"):
        await create_embeddings(LocalLlama, model, "hello " * 200, n_ctx=64)


async def test_client_base64_is_the_float_vector(tiny_llama_path: pathlib.Path) -> None:
    model = str(tiny_llama_path)
    floats = await create_embeddings(LocalLlama, model, ["the cat"], n_ctx=512)
    packed = await create_embeddings(LocalLlama, model, ["the cat"], n_ctx=512,
                                      encoding_format="base64")  # fmt: skip
    raw = base64.b64decode(str(packed.data[0].embedding))
    assert list(struct.unpack(f"<{EMBEDDING_LENGTH}f", raw)) == pytest.approx(
        floats.data[0].embedding, abs=1e-6
    )
    assert packed.usage.prompt_tokens == floats.usage.prompt_tokens > 0
    assert packed.provider == "LocalLlama"


async def test_the_default_client_routes_a_gguf_path_here(tiny_llama_path: pathlib.Path) -> None:
    from llmrelay.client import AsyncClient

    answer = await AsyncClient().embeddings.create(model=str(tiny_llama_path), input="the cat")
    assert answer.provider == "LocalLlama"
    assert len(answer.data[0].embedding) == EMBEDDING_LENGTH


async def test_smollm2_puts_related_sentences_closer(smollm2_path: pathlib.Path) -> None:
    answer = await LocalLlama.create_embeddings("", [
        "The capital of France is Paris.", "Paris is the largest city in France.",
        "Bananas are a yellow fruit.",
    ])  # fmt: skip
    paris, france, bananas = answer.vectors
    assert answer.model == "smollm2-135m"
    assert cosine(paris, france) > cosine(paris, bananas) + 0.1
