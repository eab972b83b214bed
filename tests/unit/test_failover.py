"""Failover: the next provider only before the first chunk; one error listing every failure."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from llmrelay.errors import (
    InvalidMessagesError,
    RateLimitError,
    ResponseError,
    RetryNoProviderError,
    RetryProviderError,
)
from llmrelay.providers.base_provider import AsyncGeneratorProvider
from llmrelay.providers.response import FinishReason, ProviderInfo, Usage, concat_chunks
from llmrelay.providers.retry_provider import IterListProvider, RetryProvider
from support.story_providers import StreamStory

MESSAGES = [{"role": "user", "content": "hi"}]


def scripted(name: str, *steps: Any) -> type[AsyncGeneratorProvider]:
    """A provider that yields/raises `steps` in order and counts its calls."""

    class Scripted(AsyncGeneratorProvider):
        working = True
        calls = 0

        @classmethod
        async def create_async_generator(  # type: ignore[override]
            cls, model: str, messages: Any, **kwargs: Any
        ) -> AsyncIterator[Any]:
            cls.calls += 1
            for step in steps:
                await asyncio.sleep(0)
                if isinstance(step, BaseException):
                    raise step
                yield step

    Scripted.__name__ = name
    return Scripted


async def collect(provider: Any) -> list[Any]:
    return [c async for c in provider.create_async_generator("", MESSAGES)]


async def test_first_fails_before_any_chunk_next_answers() -> None:
    first = scripted("First", Usage(prompt_tokens=1), RateLimitError("slow", status_code=429))
    second = scripted("Second", "answer", FinishReason("stop"))
    failover = IterListProvider([first, second], shuffle=False)
    chunks = await collect(failover)
    assert concat_chunks(chunks) == "answer"
    assert chunks[0] == ProviderInfo(name="Second", label=None, url=None, model="")
    assert failover.last_provider is second
    assert Usage(prompt_tokens=1) not in chunks  # the failed provider's bookkeeping is dropped


async def test_failure_after_a_chunk_surfaces_without_duplicate_text() -> None:
    first = scripted("First", "partial", ResponseError("cut"))
    second = scripted("Second", "other answer")
    failover = IterListProvider([first, second], shuffle=False)
    seen: list[Any] = []

    async def consume() -> None:
        async for chunk in failover.create_async_generator("", MESSAGES):
            seen.append(chunk)

    with pytest.raises(ResponseError, match="cut"):
        await consume()
    assert concat_chunks(seen) == "partial"
    assert second.calls == 0


async def test_all_fail_raises_one_error_listing_each() -> None:
    failover = IterListProvider(
        [scripted("A", RateLimitError("slow")), scripted("B", ValueError("broken"))],
        shuffle=False,
    )
    with pytest.raises(RetryProviderError) as info:
        await collect(failover)
    assert set(info.value.exceptions) == {"A", "B"}
    assert "A: RateLimitError: slow" in str(info.value)
    assert "B: ValueError: broken" in str(info.value)


async def test_a_provider_that_yields_nothing_counts_as_failed() -> None:
    empty = scripted("Empty", FinishReason("stop"))
    second = scripted("Second", "real")
    chunks = await collect(IterListProvider([empty, second], shuffle=False))
    assert concat_chunks(chunks) == "real"
    with pytest.raises(RetryProviderError, match="Empty returned an empty answer"):
        await collect(IterListProvider([empty], shuffle=False))


async def test_empty_list_is_a_clear_error() -> None:
    with pytest.raises(RetryNoProviderError):
        await collect(IterListProvider([]))


async def test_bad_messages_are_not_tried_on_every_provider() -> None:
    provider = scripted("P", "x")
    with pytest.raises(InvalidMessagesError):
        await collect_with(IterListProvider([provider]), [{"content": "no role"}])
    assert provider.calls == 0


async def collect_with(provider: Any, messages: Any) -> list[Any]:
    return [c async for c in provider.create_async_generator("", messages)]


async def test_retry_provider_retries_a_single_provider() -> None:
    flaky = scripted("Flaky", RateLimitError("slow"))
    retry = RetryProvider([flaky], single_provider_retry=True, max_retries=3)
    with pytest.raises(RetryProviderError) as info:
        await collect(retry)
    assert flaky.calls == 3
    assert list(info.value.exceptions) == ["Flaky", "Flaky (try 2)", "Flaky (try 3)"]


def test_shuffle_varies_the_order_without_mutating_the_list() -> None:
    providers = [scripted(f"P{i}", "x") for i in range(6)]
    failover = IterListProvider(providers, shuffle=True)
    orders = {tuple(p.__name__ for p in failover._attempts()) for _ in range(30)}
    assert len(orders) > 1
    assert failover.providers == providers


def test_sync_failover_and_model_resolution() -> None:
    failover = IterListProvider([scripted("Down", ConnectionError("x")), StreamStory], False)
    chunks = list(failover.create_completion("story", MESSAGES))
    info = next(c for c in chunks if isinstance(c, ProviderInfo))
    assert info.name == "StreamStory"
    assert info.model == "story-small"
    assert failover.last_provider is StreamStory  # visible to the sync caller too
