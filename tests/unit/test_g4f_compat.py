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


# -- models, names and errors as g4f scripts use them -------------------------------------


class Echo(AsyncGeneratorProvider):
    working = True

    @classmethod
    async def create_async_generator(  # type: ignore[override]
        cls, model: str, messages: Any, stream: bool = True
    ) -> AsyncIterator[str]:
        for word in ["one ", "two ", "three ", "four ", "five"]:
            yield word


def test_model_objects_and_the_registry_route_like_g4f(monkeypatch: pytest.MonkeyPatch) -> None:
    from llmrelay.models import Model, ModelUtils

    model = Model("echo-1", "Echo Inc", best_provider=Echo)
    assert (model.name, model.base_provider, model.best_provider) == ("echo-1", "Echo Inc", Echo)
    assert llmrelay.ChatCompletion.create(model, MESSAGES) == "one two three four five"
    monkeypatch.setitem(ModelUtils.convert, "echo-1", model)  # registered: routes by name
    assert llmrelay.ChatCompletion.create("echo-1", MESSAGES) == "one two three four five"
    completion = Client().chat.completions.create(model="echo-1", messages=MESSAGES)
    assert completion.provider == "Echo"  # type: ignore[union-attr]
    assert ModelUtils.convert["gpt-4o-mini"] is llmrelay.models.gpt_4o_mini
    assert llmrelay.models.default.name == ""
    assert "OpenAI" in llmrelay.models.default_vision.providers


def test_get_model_and_provider_at_top_level() -> None:
    name, provider = llmrelay.get_model_and_provider("echo", Echo, stream=False)
    assert (name, provider) == ("echo", Echo)
    name, provider = llmrelay.get_model_and_provider("gpt-4o-mini", None, stream=True)
    assert name == "gpt-4o-mini"
    assert provider is llmrelay.providers.routing.auto
    _, vision = llmrelay.get_model_and_provider("", None, False, has_images=True)
    assert vision is llmrelay.models.default_vision.best_provider


def test_the_error_names_g4f_scripts_catch() -> None:
    from llmrelay import errors

    assert errors.AuthenticationRequiredError is errors.MissingAuthError
    assert errors.MissingAccessToken is errors.MissingAuthError
    assert errors.ModelNotSupportedError is errors.ModelNotFoundError
    assert issubclass(errors.MissingAiohttpSocksError, errors.MissingRequirementsError)
    assert issubclass(errors.NestAsyncioError, errors.LLMRelayError)
    assert issubclass(errors.NoMediaResponseError, errors.ResponseError)


def test_max_tokens_caps_the_text_client_side() -> None:
    class Unbounded(Echo):
        @classmethod
        async def create_async_generator(  # type: ignore[override]
            cls, model: str, messages: Any, stream: bool = True, max_tokens: int | None = None
        ) -> AsyncIterator[str]:
            for word in ["one ", "two ", "three ", "four ", "five"]:  # ignores max_tokens
                yield word

    client = Client(provider=Unbounded)
    completion = client.chat.completions.create(model="", messages=MESSAGES, max_tokens=2)
    assert completion.choices[0].message.content == "one two "  # type: ignore[union-attr]
    assert completion.choices[0].finish_reason == "length"  # type: ignore[union-attr]
    chunks = list(
        client.chat.completions.create(model="", messages=MESSAGES, max_tokens=3, stream=True)
    )
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "one two three "  # type: ignore[union-attr]
    assert chunks[-1].choices[0].finish_reason == "length"  # type: ignore[union-attr]


def test_errors_name_their_provider_once() -> None:
    from llmrelay.Provider import OpenAI

    async def ask() -> None:
        async for _ in OpenAI.create_async_generator("", MESSAGES, api_key=None):
            pass

    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("OPENAI_API_KEY", raising=False)
        with pytest.raises(llmrelay.errors.MissingAuthError) as info:
            asyncio.run(ask())
    assert str(info.value).startswith("OpenAI needs an API key")
    assert str(info.value).count("OpenAI") == 1


def test_run_time_caches_are_bounded() -> None:
    from llmrelay.providers.cache import BoundedCache
    from llmrelay.providers.model_lists import MAX_LISTS, model_lists

    for i in range(MAX_LISTS + 50):
        model_lists.put(model_lists.key("P", f"http://h{i}", "sk-secret"), ["m"])
    assert len(model_lists._entries) == MAX_LISTS
    assert not any("sk-secret" in str(key) for key in model_lists._entries._entries)
    cache: BoundedCache[int, int] = BoundedCache(maxsize=3)
    for i in range(10):
        cache.put(i, i)
    assert [cache.get(i) for i in range(10)] == [None] * 7 + [7, 8, 9]


def test_a_failover_provider_made_per_call_is_not_kept_alive() -> None:
    import gc
    import weakref

    from llmrelay.providers.retry_provider import IterListProvider

    failover = IterListProvider([Echo], shuffle=False)
    Client(provider=failover).chat.completions.create(model="", messages=MESSAGES)
    ref = weakref.ref(failover)
    del failover
    gc.collect()
    assert ref() is None
