"""LocalLlama: a GGUF model in process, against the tiny F32 model and the bundled SmolLM2."""

from __future__ import annotations

import asyncio
import json
import pathlib
import sys
from typing import Any

import pytest

from llmrelay import Client
from llmrelay.errors import InvalidRequestError, MissingRequirementsError, ModelNotFoundError
from llmrelay.Provider import LocalLlama, local_llama
from llmrelay.providers.response import FinishReason, Usage

PARIS = [{"role": "user", "content": "What is the capital of France? Answer in one sentence."}]


async def collect(model: str, messages: Any = None, **kwargs: Any) -> list[Any]:
    agen = LocalLlama.create_async_generator(model, messages or PARIS, **kwargs)
    return [chunk async for chunk in agen]


def text_of(chunks: list[Any]) -> str:
    return "".join(c for c in chunks if isinstance(c, str))


def finish_of(chunks: list[Any]) -> str:
    return next(c.reason for c in chunks if isinstance(c, FinishReason))


def usage_of(chunks: list[Any]) -> Usage:
    return next(c for c in chunks if isinstance(c, Usage))


# -- the tiny F32 model ------------------------------------------------------------------------


async def test_tiny_model_streams_until_max_tokens_with_exact_usage(
    tiny_llama_path: pathlib.Path,
) -> None:
    chunks = await collect(str(tiny_llama_path), max_tokens=12, n_ctx=512, seed=1)
    assert len([c for c in chunks if isinstance(c, str)]) > 1  # streamed, not one piece
    assert finish_of(chunks) == "length"
    usage = usage_of(chunks)
    assert usage.completion_tokens == 12
    assert usage.prompt_tokens > 0
    assert usage.total_tokens == usage.prompt_tokens + 12


async def test_same_seed_same_output_other_seed_differs(tiny_llama_path: pathlib.Path) -> None:
    model = str(tiny_llama_path)
    args = {"max_tokens": 24, "n_ctx": 512, "temperature": 1.0}
    first = text_of(await collect(model, seed=7, **args))
    again = text_of(await collect(model, seed=7, **args))
    other = text_of(await collect(model, seed=8, **args))
    assert first == again
    assert first != other


async def test_closing_a_stream_stops_generation_at_the_next_token(
    tiny_llama_path: pathlib.Path,
) -> None:
    await collect(str(tiny_llama_path), max_tokens=1, n_ctx=512)  # loaded now
    loaded = next(m for m in local_llama._models.loaded() if m.path == tiny_llama_path)
    before = loaded.tokens
    agen = LocalLlama.create_async_generator(
        str(tiny_llama_path), PARIS, max_tokens=450, n_ctx=512, temperature=1.0, seed=3
    )
    async for _ in agen:
        break
    await agen.aclose()
    at_close = loaded.tokens
    # The worker releases the model's lock when it stops; it must stop within a token or two.
    assert await asyncio.to_thread(loaded.lock.acquire, True, 10.0)
    try:
        assert loaded.tokens - at_close <= 2
    finally:
        loaded.lock.release()
    assert at_close - before < 2 * local_llama.READ_AHEAD + 8  # it never ran far ahead


async def test_loaded_models_are_kept_and_bounded(tiny_llama_path: pathlib.Path) -> None:
    for n_ctx in (256, 384, 512, 512):
        await collect(str(tiny_llama_path), max_tokens=1, n_ctx=n_ctx)
    loaded = local_llama._models.loaded()
    assert len(loaded) <= local_llama.MAX_LOADED_MODELS
    assert sum(m.path == tiny_llama_path for m in loaded) == 2  # 384 and 512, reused


async def test_missing_file_and_unknown_name_are_model_errors(tmp_path: pathlib.Path) -> None:
    with pytest.raises(ModelNotFoundError, match="no GGUF file"):
        await collect(str(tmp_path / "absent.gguf"))
    with pytest.raises(ModelNotFoundError, match="catalogue"):
        await collect("no-such-model")


async def test_a_file_that_is_not_a_model_is_a_clear_error(tmp_path: pathlib.Path) -> None:
    bogus = tmp_path / "bogus.gguf"
    bogus.write_bytes(b"not a model")
    with pytest.raises(InvalidRequestError, match="cannot load"):
        await collect(str(bogus))


async def test_without_the_local_extra_the_error_says_how_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "llama_cpp", None)
    with pytest.raises(MissingRequirementsError, match=r"pip install 'llmrelay\[local\]'"):
        await collect("")


async def test_image_content_is_refused(tiny_llama_path: pathlib.Path) -> None:
    from llmrelay.errors import UnsupportedParameterError

    image = [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}]}]  # fmt: skip
    with pytest.raises(UnsupportedParameterError, match="text only"):
        await collect(str(tiny_llama_path), image, n_ctx=512)


# -- the bundled SmolLM2 model -------------------------------------------------------------------


async def test_smollm2_answers_paris_streaming(smollm2_path: pathlib.Path) -> None:
    chunks = await collect("", temperature=0)
    text = text_of(chunks)
    assert "Paris" in text
    assert len([c for c in chunks if isinstance(c, str)]) > 3
    assert finish_of(chunks) == "stop"
    usage = usage_of(chunks)
    assert usage.prompt_tokens > 10
    assert usage.completion_tokens == 7  # "The capital of France is Paris."


async def test_smollm2_stops_at_stop_string(smollm2_path: pathlib.Path) -> None:
    chunks = await collect("", temperature=0, stop=["Paris"])
    assert text_of(chunks).startswith("The capital of France is")
    assert "Paris" not in text_of(chunks)
    assert finish_of(chunks) == "stop"


async def test_smollm2_json_schema_through_a_grammar(smollm2_path: pathlib.Path) -> None:
    schema = {"type": "object", "properties": {"city": {"type": "string"}},
              "required": ["city"]}  # fmt: skip
    chunks = await collect(
        "", temperature=0, max_tokens=40,
        response_format={"type": "json_schema", "json_schema": {"name": "c", "schema": schema}},
    )  # fmt: skip
    assert isinstance(json.loads(text_of(chunks))["city"], str)


async def test_two_concurrent_requests_both_complete(smollm2_path: pathlib.Path) -> None:
    first, second = await asyncio.gather(
        collect("", temperature=0), collect(str(smollm2_path), temperature=0)
    )
    assert "Paris" in text_of(first)
    assert text_of(first) == text_of(second)


def test_sync_client_answers_from_the_local_model(smollm2_path: pathlib.Path) -> None:
    completion = Client().chat.completions.create(
        messages=PARIS, provider="LocalLlama", temperature=0
    )
    assert "Paris" in completion.choices[0].message.content
    assert completion.provider == "LocalLlama"
    assert completion.usage.completion_tokens == 7
    assert completion.choices[0].finish_reason == "stop"
