"""Failover: the next provider only before the first chunk; one error listing every failure."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from llmrelay.errors import (
    IdleTimeoutError,
    InvalidMessagesError,
    InvalidRequestError,
    LLMRelayError,
    MissingAuthError,
    ModelNotFoundError,
    RateLimitError,
    ResponseError,
    ResponseStatusError,
    RetryNoProviderError,
    RetryProviderError,
    TotalTimeoutError,
    UnsupportedParameterError,
)
from llmrelay.providers.base_provider import AsyncGeneratorProvider
from llmrelay.providers.response import FinishReason, ProviderInfo, Usage, concat_chunks
from llmrelay.providers.retry_provider import IterListProvider, RetryProvider
from support.story_providers import StreamStory

MESSAGES = [{"role": "user", "content": "hi"}]
HANG = object()  # a step that never ends


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
                if step is HANG:
                    await asyncio.sleep(30)
                    continue
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
    with pytest.raises(ResponseError, match="Empty returned an empty answer"):
        await collect(IterListProvider([empty], shuffle=False))


async def test_none_and_empty_chunks_before_the_first_do_not_count_as_an_answer() -> None:
    blank = scripted("Blank", None, "", Usage(prompt_tokens=1))
    second = scripted("Second", "real")
    chunks = await collect(IterListProvider([blank, second], shuffle=False))
    assert concat_chunks(chunks) == "real"
    assert chunks[0] == ProviderInfo(name="Second", label=None, url=None, model="")


async def test_one_provider_raises_its_own_exception() -> None:
    with pytest.raises(RateLimitError, match="slow") as info:
        await collect(IterListProvider([scripted("A", RateLimitError("slow", retry_after=2))]))
    assert info.value.retry_after == 2


class Strict(AsyncGeneratorProvider):
    working = True

    @classmethod
    async def create_async_generator(  # type: ignore[override]
        cls, model: str, messages: Any, temperature: float | None = None
    ) -> AsyncIterator[str]:
        yield "strict"


async def test_the_callers_mistakes_are_raised_at_once_with_their_status() -> None:
    second = scripted("Second", "answer")
    with pytest.raises(UnsupportedParameterError) as info:
        await collect_with_params(IterListProvider([Strict, second], shuffle=False),
                                  temprature=1)  # fmt: skip
    assert info.value.status_code == 400
    assert second.calls == 0
    bad = scripted("Bad", InvalidRequestError("tools[0]: missing 'function'"))
    with pytest.raises(InvalidRequestError, match="tools") as raised:
        await collect(IterListProvider([bad, second], shuffle=False))
    assert raised.value.status_code == 400
    assert not isinstance(raised.value, RetryProviderError)
    assert second.calls == 0
    with pytest.raises(InvalidRequestError, match="timeout must be a positive"):
        await collect_with_params(IterListProvider([second]), timeout=-1)
    assert second.calls == 0


async def test_a_model_one_provider_lacks_still_fails_over() -> None:
    missing = scripted("Missing", ModelNotFoundError("model 'x' not found"))
    second = scripted("Second", "answer")
    assert concat_chunks(await collect(IterListProvider([missing, second], False))) == "answer"


@pytest.mark.parametrize(
    ("errors", "status", "retry_after"),
    [
        ([RateLimitError("a", status_code=429, retry_after=5),
          RateLimitError("b", status_code=429, retry_after=2)], 429, 2),
        ([MissingAuthError("no key"), MissingAuthError("bad key", status_code=403)], 401, None),
        ([TotalTimeoutError("a"), IdleTimeoutError("b")], 504, None),
        ([ResponseStatusError("a", status_code=503),
          ResponseStatusError("b", status_code=503)], 503, None),
        ([RateLimitError("a", status_code=429), MissingAuthError("b")], 502, None),
    ],
)  # fmt: skip
async def test_when_all_fail_the_status_says_what_to_do(
    errors: list[Exception], status: int, retry_after: float | None
) -> None:
    providers = [scripted(f"P{i}", error) for i, error in enumerate(errors)]
    with pytest.raises(RetryProviderError) as info:
        await collect(IterListProvider(providers, shuffle=False))
    assert info.value.status_code == status
    assert info.value.retry_after == retry_after


async def test_timeout_bounds_the_whole_failover() -> None:
    hanging = [scripted(f"Hang{i}", HANG) for i in range(3)]
    loop = asyncio.get_running_loop()
    start = loop.time()
    with pytest.raises(LLMRelayError) as info:
        await collect_with_params(IterListProvider(hanging, shuffle=False), timeout=0.3)
    assert loop.time() - start < 0.6
    assert info.value.status_code == 504 or isinstance(info.value, TotalTimeoutError)
    assert hanging[2].calls == 0


async def collect_with_params(provider: Any, **params: Any) -> list[Any]:
    return [c async for c in provider.create_async_generator("", MESSAGES, **params)]


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


async def test_each_failover_decision_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    first = scripted("First", RateLimitError("slow", status_code=429))
    second = scripted("Second", "answer")
    with caplog.at_level("DEBUG", logger="llmrelay"):
        await collect(IterListProvider([first, second], shuffle=False))
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "First failed before answering, trying the next: RateLimitError" in text
    assert "answering with Second" in text


async def test_bad_media_is_the_callers_mistake_not_a_failover() -> None:
    from llmrelay.Provider import Groq, Mistral

    failover = IterListProvider([Groq, Mistral], shuffle=False)
    with pytest.raises(InvalidRequestError, match="URL scheme not accepted") as info:
        await collect_with_params(failover, media=[("file:///etc/passwd", "a.png")], api_key="k")
    assert info.value.status_code == 400
    assert not isinstance(info.value, RetryProviderError)
