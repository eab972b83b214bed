"""`<think>` in the content of OpenAI-compatible and Ollama answers arrives as reasoning."""

from __future__ import annotations

from typing import Any

import pytest

from llmrelay.client import AsyncClient
from llmrelay.Provider import OllamaNative, OpenaiTemplate
from llmrelay.providers.response import Reasoning
from support.fake_ollama import FakeOllama
from support.fake_openai import FakeOpenAI, Reply

pytestmark = pytest.mark.integration

MESSAGES = [{"role": "user", "content": "2+2?"}]
ANSWER = "<think>\nTwo and two.\n</think>\n\nIt is 4."


def split(chunks: list[Any]) -> tuple[str, str]:
    reasoning = "".join(c.token or "" for c in chunks if isinstance(c, Reasoning))
    return reasoning, "".join(c for c in chunks if isinstance(c, str))


@pytest.mark.parametrize("stream", [True, False])
@pytest.mark.parametrize("fake_class", [FakeOpenAI, FakeOllama])
async def test_think_blocks_become_reasoning(fake_class: type[FakeOpenAI], stream: bool) -> None:
    provider = OpenaiTemplate if fake_class is FakeOpenAI else OllamaNative
    async with fake_class(models=["qwen3"]) as fake:
        fake.script(Reply(ANSWER, chunk_size=3), Reply(ANSWER, chunk_size=3))
        create = provider.get_async_create_function()
        on = [c async for c in create("qwen3", MESSAGES, api_base=fake.base_url, stream=stream)]
        off = [
            c
            async for c in create(
                "qwen3", MESSAGES, api_base=fake.base_url, stream=stream, think_tags=False
            )
        ]
    assert split(on) == ("\nTwo and two.\n", "It is 4.")
    assert split(off) == ("", ANSWER)


async def test_the_client_shows_it_as_reasoning_content_and_reasoning() -> None:
    async with FakeOpenAI(models=["qwen3"]) as fake:
        fake.script(Reply(ANSWER, chunk_size=2))
        client = AsyncClient(base_url=fake.base_url)
        completion = await client.chat.completions.create(model="qwen3", messages=MESSAGES)
    message = completion.choices[0].message
    assert (message.content, message.reasoning_content) == ("It is 4.", "\nTwo and two.\n")
    assert message.reasoning == message.reasoning_content
