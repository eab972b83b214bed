"""The eight examples of the spec, run against a real subclass of each base class, and a
provider written exactly as g4f users write one, through every entry point."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

import llmrelay
from llmrelay.providers.base_provider import AbstractProvider, AsyncGeneratorProvider
from llmrelay.providers.response import (
    FinishReason,
    JsonConversation,
    Parameters,
    ToolCalls,
    concat_chunks,
)
from support.story_providers import ALL_STORY_PROVIDERS, StreamStory, compose

MESSAGES = [{"role": "user", "content": "Write a short story about a cat."}]
MODEL = "text-davinci-003"


def expected_text(**params: Any) -> str:
    return concat_chunks(compose(MODEL, MESSAGES, **params))


@pytest.fixture(params=ALL_STORY_PROVIDERS, ids=lambda p: p.__name__)
def provider(request: pytest.FixtureRequest) -> type[AbstractProvider]:
    return request.param  # type: ignore[no-any-return]


def run(provider: type[AbstractProvider], **params: Any) -> list[Any]:
    return list(provider.create_completion(model=MODEL, messages=MESSAGES, **params))


def test_example_1_completion(provider: type[AbstractProvider]) -> None:
    chunks = run(provider)
    assert concat_chunks(chunks) == expected_text()
    assert len(concat_chunks(chunks).split()) == 12


def test_example_2_streaming(provider: type[AbstractProvider]) -> None:
    chunks = run(provider, stream=True)
    texts = [c for c in chunks if isinstance(c, str)]
    assert "".join(texts) == expected_text()
    if provider.supports_stream:  # a real stream: word by word, then the finish reason
        assert len(texts) == 12
        assert chunks[-1] == FinishReason("stop")


def test_example_3_custom_parameters(provider: type[AbstractProvider]) -> None:
    text = concat_chunks(run(provider, temperature=0.5, max_tokens=5))
    assert text == expected_text(max_tokens=5)
    assert len(text.split()) == 5


def test_example_4_proxy(provider: type[AbstractProvider]) -> None:
    proxy = "http://user:password@127.0.0.1:3128"
    chunks = run(provider, proxy=proxy)
    assert concat_chunks(chunks) == expected_text()
    received = [c for c in chunks if isinstance(c, Parameters)]
    if provider is not ALL_STORY_PROVIDERS[1]:  # AsyncStory's answer is text only
        assert received[0].proxy == proxy


def test_example_5_seed(provider: type[AbstractProvider]) -> None:
    first = concat_chunks(run(provider, seed=42))
    assert first == concat_chunks(run(provider, seed=42)) == expected_text(seed=42)
    assert first != concat_chunks(run(provider, seed=7))


def test_example_6_response_format(provider: type[AbstractProvider]) -> None:
    text = concat_chunks(run(provider, response_format={"type": "json_object"}))
    assert json.loads(text)["story"] == expected_text()


def test_example_7_conversation(provider: type[AbstractProvider]) -> None:
    conversation = {"conversation_id": "550e8400-e29b-11d4-a716-...", "message_id": "550e8400-1"}
    chunks = run(provider, conversation=conversation)
    assert concat_chunks(chunks) == expected_text()
    state = [c for c in chunks if isinstance(c, JsonConversation)]
    if provider is not ALL_STORY_PROVIDERS[1]:
        assert state[0].conversation_id == conversation["conversation_id"]
        assert state[0].turn == 1


def test_example_8_tools(provider: type[AbstractProvider]) -> None:
    chunks = run(provider, tools=[{"type": "code", "function": "get_weather"}])
    assert concat_chunks(chunks) == ""
    calls = [c for c in chunks if isinstance(c, ToolCalls)]
    if provider is not ALL_STORY_PROVIDERS[1]:
        assert calls[0].get_list()[0]["function"]["name"] == "get_weather"


# ------------------------------------------------------------------------------------------
# A provider exactly as g4f users write one.


class G4fStyle(AsyncGeneratorProvider):
    url = "https://example.invalid"
    working = True
    supports_stream = True

    @classmethod
    async def create_async_generator(
        cls, model: str, messages: list[dict[str, str]], proxy: str | None = None, **kwargs: Any
    ) -> AsyncIterator[str]:
        yield "Hello"
        await asyncio.sleep(0)
        yield ", "
        yield messages[-1]["content"]


G4F_MESSAGES = [{"role": "user", "content": "world"}]


def test_g4f_style_sync_stream() -> None:
    assert list(G4fStyle.create_completion("", G4F_MESSAGES)) == ["Hello", ", ", "world"]


def test_g4f_style_get_create_function() -> None:
    create = G4fStyle.get_create_function()
    assert "".join(create("", G4F_MESSAGES, stream=False)) == "Hello, world"


async def test_g4f_style_create_async() -> None:
    assert await G4fStyle.create_async("", G4F_MESSAGES) == "Hello, world"


async def test_g4f_style_async_create_function() -> None:
    chunks = [c async for c in G4fStyle.get_async_create_function()("", G4F_MESSAGES)]
    assert chunks == ["Hello", ", ", "world"]


def test_g4f_style_chat_completion() -> None:
    completion = llmrelay.ChatCompletion
    assert completion.create("", G4F_MESSAGES, provider=G4fStyle) == "Hello, world"
    stream = completion.create("", G4F_MESSAGES, provider=G4fStyle, stream=True)
    assert list(stream) == ["Hello", ", ", "world"]  # type: ignore[arg-type]


async def test_g4f_style_chat_completion_async() -> None:
    completion = llmrelay.ChatCompletion
    answer = await completion.create_async("", G4F_MESSAGES, provider=G4fStyle)  # type: ignore[misc]
    assert answer == "Hello, world"
    stream = completion.create_async("", G4F_MESSAGES, provider=G4fStyle, stream=True)
    assert [c async for c in stream] == ["Hello", ", ", "world"]  # type: ignore[union-attr]


def test_g4f_style_proxy_parameter_is_listed() -> None:
    assert set(G4fStyle.get_parameters()) == {"model", "messages", "proxy"}
    assert "proxy: str | None = None" in G4fStyle.params


def test_stream_provider_sync_inside_running_loop() -> None:
    async def handler() -> str:  # e.g. a FastAPI handler calling the sync API
        return "".join(
            c for c in StreamStory.create_completion(MODEL, MESSAGES) if isinstance(c, str)
        )

    assert asyncio.run(handler()) == expected_text()
