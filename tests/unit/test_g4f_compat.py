"""What code written for g4f relies on, beyond the spec's signatures."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

import llmrelay
from llmrelay.client import AsyncClient, Client
from llmrelay.errors import UnsupportedParameterError
from llmrelay.providers.base_provider import (
    AbstractProvider,
    AsyncGeneratorProvider,
    AsyncProvider,
)

MESSAGES = [{"role": "user", "content": "hi"}]


class SyncSpec(AbstractProvider):
    """Written with the spec's signature: `stream` is a required positional parameter."""

    working = True
    seen: list[Any] = []

    @classmethod
    def create_completion(  # type: ignore[override]
        cls, model: str, messages: Any, stream: bool, **kwargs: Any
    ) -> Iterator[str]:
        cls.seen.append(stream)
        yield "streamed" if stream else "whole"


class Coro(AsyncProvider):
    working = True

    @classmethod
    async def create_async(cls, model: str, messages: Any, proxy: str | None = None) -> str:  # type: ignore[override]
        return f"proxy={proxy}"


class Gen(AsyncGeneratorProvider):
    working = True

    @classmethod
    async def create_async_generator(  # type: ignore[override]
        cls, model: str, messages: Any, proxy: str | None = None
    ) -> AsyncIterator[str]:
        yield f"proxy={proxy}"


class StaticGen(AsyncGeneratorProvider):
    """As the spec declares it: a staticmethod."""

    working = True

    @staticmethod
    async def create_async_generator(  # type: ignore[override]
        model: str, messages: Any, seed: int | None = None
    ) -> AsyncIterator[str]:
        yield f"seed={seed}"


def test_get_async_create_function_is_the_method_itself() -> None:
    assert Coro.get_async_create_function() == Coro.create_async
    assert Gen.get_async_create_function() == Gen.create_async_generator
    assert StaticGen.get_async_create_function() == StaticGen.create_async_generator


async def test_the_method_itself_still_refuses_bad_input_before_running() -> None:
    with pytest.raises(UnsupportedParameterError, match="temprature"):
        Gen.create_async_generator("m", MESSAGES, temprature=1)
    with pytest.raises(UnsupportedParameterError, match="temprature"):
        Coro.create_async("m", MESSAGES, temprature=1)
    with pytest.raises(UnsupportedParameterError, match="temprature"):
        StaticGen.create_async_generator("m", MESSAGES, temprature=1)
    assert [c async for c in StaticGen.create_async_generator("m", MESSAGES, seed=4)] == ["seed=4"]
    assert await Coro.create_async("m", MESSAGES, proxy="http://p:1") == "proxy=http://p:1"


def test_a_static_create_function_reports_its_own_parameters() -> None:
    assert list(StaticGen.get_parameters()) == ["model", "messages", "seed"]


async def test_the_method_itself_honours_timeout() -> None:
    class Slow(AsyncGeneratorProvider):
        working = True

        @classmethod
        async def create_async_generator(  # type: ignore[override]
            cls, model: str, messages: Any
        ) -> AsyncIterator[str]:
            await asyncio.sleep(10)
            yield "late"

    with pytest.raises(llmrelay.errors.TotalTimeoutError):
        async for _ in Slow.create_async_generator("m", MESSAGES, timeout=0.05):
            pass


async def test_stream_reaches_a_sync_provider_from_every_entry_point() -> None:
    SyncSpec.seen.clear()
    assert await SyncSpec.create_async("m", MESSAGES) == "whole"
    assert await llmrelay.ChatCompletion.create_async("m", MESSAGES, provider=SyncSpec) == "whole"
    completion = await AsyncClient(provider=SyncSpec).chat.completions.create(
        model="m", messages=MESSAGES
    )
    assert completion.choices[0].message.content == "whole"
    assert SyncSpec.seen == [False, False, False]


def test_stream_reaches_a_sync_provider_from_the_sync_client() -> None:
    SyncSpec.seen.clear()
    completion = Client(provider=SyncSpec).chat.completions.create(model="m", messages=MESSAGES)
    assert completion.choices[0].message.content == "whole"  # type: ignore[union-attr]
    assert SyncSpec.seen == [False]
