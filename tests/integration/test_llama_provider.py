"""Our OpenAI-compatible provider against a real llama.cpp server (llama-cpp-python) on
loopback, with a tiny model the test wrote: chat, streaming, usage, stop, seed, max_tokens,
/models, and the server's own errors."""

from __future__ import annotations

from typing import Any

import pytest

import llmrelay
from llmrelay.errors import BadRequestError, IncompleteResponseError
from llmrelay.Provider import LlamaCpp, OpenaiTemplate
from llmrelay.providers.response import FinishReason, Usage, concat_chunks

pytestmark = pytest.mark.integration

MESSAGES = [{"role": "user", "content": "Say hello"}]


def run(url: str, **params: Any) -> list[Any]:
    return list(LlamaCpp.create_completion("tiny-llama", MESSAGES, api_base=url, **params))


def test_models_are_listed(llama_server_url: str) -> None:
    assert LlamaCpp.get_models(api_base=llama_server_url) == ["tiny-llama"]


def test_chat_answer_with_usage(llama_server_url: str) -> None:
    chunks = run(llama_server_url, stream=False, max_tokens=8, seed=1)
    assert concat_chunks(chunks)
    usage = next(c for c in chunks if isinstance(c, Usage))
    assert usage.completion_tokens == 8
    assert usage.prompt_tokens > 0
    assert usage.total_tokens == usage.prompt_tokens + 8
    assert FinishReason("length") in chunks


def test_stream_matches_the_whole_answer(llama_server_url: str) -> None:
    whole = concat_chunks(run(llama_server_url, stream=False, max_tokens=10, temperature=0))
    chunks = run(llama_server_url, stream=True, max_tokens=10, temperature=0)
    texts = [c for c in chunks if isinstance(c, str)]
    assert len(texts) > 1  # really streamed
    assert "".join(texts) == whole
    assert chunks[-1] == FinishReason("length")


def test_seed_makes_sampling_repeatable(llama_server_url: str) -> None:
    first = concat_chunks(run(llama_server_url, max_tokens=12, temperature=1.0, seed=7))
    assert first == concat_chunks(run(llama_server_url, max_tokens=12, temperature=1.0, seed=7))
    others = {
        concat_chunks(run(llama_server_url, max_tokens=12, temperature=1.0, seed=s))
        for s in (8, 9, 10)
    }
    assert others != {first}


def test_stop_cuts_the_answer_before_the_stop_string(llama_server_url: str) -> None:
    full = concat_chunks(run(llama_server_url, max_tokens=24, temperature=0))
    stop = full[10:13]
    assert stop
    assert stop not in full[:10]
    for stream in (False, True):
        chunks = run(llama_server_url, max_tokens=24, temperature=0, stop=[stop], stream=stream)
        assert concat_chunks(chunks) == full[: full.index(stop)]
        assert FinishReason("stop") in chunks


def test_max_tokens_bounds_the_answer(llama_server_url: str) -> None:
    chunks = run(llama_server_url, stream=False, max_tokens=3)
    usage = next(c for c in chunks if isinstance(c, Usage))
    assert usage.completion_tokens == 3


async def test_async_path_and_default_model_from_the_server(llama_server_url: str) -> None:
    # No model and no default: a local server's first listed model is used.
    chunks = [
        c
        async for c in LlamaCpp.create_async_generator(
            "", MESSAGES, api_base=llama_server_url, max_tokens=4
        )
    ]
    assert concat_chunks(chunks)
    assert LlamaCpp.last_model == "tiny-llama"


def test_chat_completion_through_the_template(llama_server_url: str) -> None:
    text = llmrelay.ChatCompletion.create(
        "tiny-llama", MESSAGES, provider=OpenaiTemplate, api_base=llama_server_url, max_tokens=5
    )
    assert isinstance(text, str)
    assert text


def test_server_error_is_mapped_with_its_message(llama_server_url: str) -> None:
    long_messages = [{"role": "user", "content": "hello world " * 1500}]
    with pytest.raises(BadRequestError, match="maximum context length") as info:
        list(
            LlamaCpp.create_completion(
                "tiny-llama", long_messages, api_base=llama_server_url, stream=False
            )
        )
    assert info.value.status_code == 400
    assert info.value.provider == "LlamaCpp"


def test_stream_cut_by_the_server_is_an_error(llama_server_url: str) -> None:
    # llama-cpp-python answers a streamed context overflow with an empty 200 stream: that must
    # not look like an empty, complete answer.
    long_messages = [{"role": "user", "content": "hello world " * 1500}]
    with pytest.raises(IncompleteResponseError, match=r"\[DONE\]"):
        list(LlamaCpp.create_completion("tiny-llama", long_messages, api_base=llama_server_url))
