"""`llmrelay.ChatCompletion`, as g4f scripts call it."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

import llmrelay
from llmrelay.errors import (
    MissingAuthError,
    ProviderNotFoundError,
    ProviderNotWorkingError,
    StreamNotSupportedError,
)
from llmrelay.providers.response import FinishReason, Parameters, concat_chunks
from support.story_providers import AsyncStory, StreamStory, compose

MESSAGES = [{"role": "user", "content": "tell me"}]


def test_create_returns_the_joined_text() -> None:
    text = llmrelay.ChatCompletion.create("story", MESSAGES, provider=StreamStory, seed=1)
    assert text == concat_chunks(compose("story-small", MESSAGES, seed=1))


def test_create_stream_returns_chunks() -> None:
    chunks = list(llmrelay.ChatCompletion.create("", MESSAGES, provider=StreamStory, stream=True))  # type: ignore[arg-type]
    assert chunks[-1] == FinishReason("stop")
    assert sum(isinstance(c, str) for c in chunks) == 12


def test_non_streaming_provider_refuses_stream_unless_told() -> None:
    with pytest.raises(StreamNotSupportedError, match="AsyncStory"):
        llmrelay.ChatCompletion.create("", MESSAGES, provider=AsyncStory, stream=True)
    chunks = llmrelay.ChatCompletion.create(
        "", MESSAGES, provider=AsyncStory, stream=True, ignore_stream=True
    )
    assert concat_chunks(chunks) == concat_chunks(compose("story-small", MESSAGES))


def test_not_working_provider_is_refused_unless_told() -> None:
    class Broken(StreamStory):
        working = False

    with pytest.raises(ProviderNotWorkingError):
        llmrelay.ChatCompletion.create("", MESSAGES, provider=Broken)
    assert llmrelay.ChatCompletion.create("", MESSAGES, provider=Broken, ignore_working=True)


def test_unknown_provider_name_is_a_clear_error() -> None:
    with pytest.raises(ProviderNotFoundError, match="no provider named 'Nope'"):
        llmrelay.ChatCompletion.create("m", MESSAGES, provider="Nope")
    assert not hasattr(llmrelay.Provider, "Nope")


def test_a_model_name_without_a_configured_provider_says_what_to_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for variable in ("OPENAI_API_KEY", "AZURE_OPENAI_API_KEY", "OPENROUTER_API_KEY"):
        monkeypatch.delenv(variable, raising=False)
    with pytest.raises(MissingAuthError, match="model 'gpt-4o': set one of OPENAI_API_KEY"):
        llmrelay.ChatCompletion.create("gpt-4o", MESSAGES)


def test_model_object_with_best_provider() -> None:
    class Model:
        name = "text-davinci-003"
        best_provider = StreamStory

    text = llmrelay.ChatCompletion.create(Model(), MESSAGES)
    assert text == concat_chunks(compose("text-davinci-003", MESSAGES))


def test_legacy_image_parameter_becomes_media() -> None:
    chunks = list(
        llmrelay.ChatCompletion.create(  # type: ignore[arg-type]
            "", MESSAGES, provider=StreamStory, stream=True, image=b"\x89PNG", image_name="a.png"
        )
    )
    received: Any = next(c for c in chunks if isinstance(c, Parameters))
    assert received.media == [(b"\x89PNG", "a.png")]


async def test_create_async_both_ways() -> None:
    answer = await llmrelay.ChatCompletion.create_async("", MESSAGES, provider=AsyncStory)  # type: ignore[misc]
    assert answer == concat_chunks(compose("story-small", MESSAGES))
    stream = llmrelay.ChatCompletion.create_async(
        "", MESSAGES, provider=AsyncStory, stream=True, ignore_stream=True
    )
    assert [c async for c in stream] == [answer]  # type: ignore[union-attr]


def test_import_is_cheap_and_does_no_io() -> None:
    code = (
        "import sys, llmrelay\n"
        "heavy = [m for m in ('aiohttp', 'httpx', 'requests', 'fastapi', 'starlette', "
        "'uvicorn', 'llama_cpp', 'asyncio') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""
