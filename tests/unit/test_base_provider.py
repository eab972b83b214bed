"""Semantics of the base classes users rely on: models, parameters, errors, async entry points."""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from llmrelay.errors import (
    BadRequestError,
    InvalidMessagesError,
    MissingAuthError,
    ModelNotFoundError,
    PaymentRequiredError,
    RateLimitError,
    ResponseError,
    ResponseStatusError,
    TotalTimeoutError,
    UnsupportedParameterError,
)
from llmrelay.providers.base_provider import (
    AbstractProvider,
    AsyncGeneratorProvider,
    ProviderModelMixin,
    RaiseErrorMixin,
)
from llmrelay.providers.response import concat_chunks
from support.story_providers import AsyncStory, StreamStory, SyncStory, compose

MESSAGES = [{"role": "user", "content": "hi"}]

# ------------------------------------------------------------------------------------------
# get_model / last_model


def test_empty_model_means_default() -> None:
    assert StreamStory.get_model("") == "story-small"


def test_alias_is_resolved() -> None:
    assert StreamStory.get_model("story") == "story-small"


def test_list_alias_picks_one_of_its_models() -> None:
    picked = {StreamStory.get_model("any-story") for _ in range(50)}
    assert picked == {"text-davinci-003", "story-small"}


def test_unknown_model_names_provider_and_models() -> None:
    with pytest.raises(ModelNotFoundError) as info:
        StreamStory.get_model("gpt-9")
    message = str(info.value)
    assert "'gpt-9'" in message
    assert "StreamStory" in message
    assert "text-davinci-003" in message
    assert info.value.provider == "StreamStory"


def test_provider_without_model_list_accepts_any_model() -> None:
    class Open(ProviderModelMixin):
        pass

    assert Open.get_model("whatever") == "whatever"
    with pytest.raises(ModelNotFoundError, match="no default model"):
        Open.get_model("")


def test_unknown_model_fails_before_the_stream_starts() -> None:
    with pytest.raises(ModelNotFoundError):
        list(StreamStory.create_completion("gpt-9", MESSAGES))


async def test_last_model_is_per_task() -> None:
    barrier = asyncio.Barrier(2)

    async def request(model: str) -> str | None:
        StreamStory.get_model(model)
        await barrier.wait()  # both have set their model before either reads it
        return StreamStory.last_model

    results = await asyncio.gather(request("text-davinci-003"), request("story-small"))
    assert results == ["text-davinci-003", "story-small"]


def test_last_model_is_per_thread_and_visible_after_a_sync_call() -> None:
    barrier = threading.Barrier(2)
    results: dict[str, str | None] = {}

    def request(model: str) -> None:
        list(StreamStory.create_completion(model, MESSAGES))  # resolved on the bridge loop
        barrier.wait()
        results[model] = StreamStory.last_model

    threads = [threading.Thread(target=request, args=(m,)) for m in ("text-davinci-003", "story")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == {"text-davinci-003": "text-davinci-003", "story": "story-small"}


def test_last_model_does_not_leak_into_other_providers() -> None:
    def fresh() -> tuple[str | None, str | None]:
        StreamStory.get_model("story")
        return StreamStory.last_model, SyncStory.last_model

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        assert pool.submit(fresh).result() == ("story-small", None)


# ------------------------------------------------------------------------------------------
# get_parameters / params


def test_get_parameters_are_inspect_parameters_filtered_to_the_vocabulary() -> None:
    class Typed(AsyncGeneratorProvider):
        @classmethod
        async def create_async_generator(  # type: ignore[override]
            cls,
            model: str,
            messages: list[dict[str, Any]],
            proxy: str | None = None,
            temperature: float = 0.7,
            seed: int | None = None,
            internal_flag: bool = False,
            **kwargs: Any,
        ) -> Any:
            yield ""

    params = Typed.get_parameters()
    assert list(params) == ["model", "messages", "proxy", "temperature", "seed"]
    assert all(isinstance(p, inspect.Parameter) for p in params.values())
    as_json = Typed.get_parameters(as_json=True)
    assert as_json["provider"] == "Typed"
    assert as_json["temperature"] == 0.7
    assert as_json["seed"] == 42
    assert as_json["stream"] is True
    json.dumps(as_json)  # JSON-ready
    lines = Typed.params.splitlines()
    assert lines[0] == "llmrelay.Provider.Typed supports: ("
    assert "    temperature: float = 0.7," in lines
    assert "internal_flag" not in Typed.params


def test_stream_parameter_listed_only_when_supported() -> None:
    class NoStream(AbstractProvider):
        supports_stream = False

        @classmethod
        def create_completion(  # type: ignore[override]
            cls, model: str, messages: Any, stream: bool = False
        ) -> Iterator[str]:
            yield "x"

    assert "stream" not in NoStream.get_parameters()


# ------------------------------------------------------------------------------------------
# Parameters and messages are checked before any work.


class Strict(AsyncGeneratorProvider):
    working = True
    started = 0

    @classmethod
    async def create_async_generator(  # type: ignore[override]
        cls, model: str, messages: Any, seed: int | None = None
    ) -> Any:
        cls.started += 1
        yield "ok"


def test_unsupported_parameter_is_named() -> None:
    with pytest.raises(UnsupportedParameterError) as info:
        Strict.create_completion("m", MESSAGES, temperature=1)
    assert "temperature" in str(info.value)
    assert "seed" in str(info.value)  # and what it accepts


def test_timeout_and_stream_are_not_forced_on_providers_without_them() -> None:
    assert list(Strict.create_completion("m", MESSAGES, timeout=5, stream=True)) == ["ok"]


@pytest.mark.parametrize(
    ("messages", "fragment"),
    [
        ([], "must not be empty"),
        ("hi", "must be a list"),
        ([{"content": "x"}], "messages[0]: missing 'role'"),
        ([{"role": "user", "content": 3}], "'content' must be a string"),
    ],
)
def test_invalid_messages_fail_before_the_provider_runs(messages: Any, fragment: str) -> None:
    before = Strict.started
    with pytest.raises(InvalidMessagesError) as info:
        Strict.create_completion("m", messages)
    assert fragment in str(info.value)
    assert Strict.started == before


# ------------------------------------------------------------------------------------------
# create_async: timeout, loop, executor


class SlowSync(AbstractProvider):
    working = True

    @classmethod
    def create_completion(
        cls, model: str, messages: Any, stream: bool = False, **kwargs: Any
    ) -> Iterator[str]:
        threading.Event().wait(kwargs.get("pause", 0))
        yield threading.current_thread().name


async def test_create_async_runs_sync_provider_in_the_given_executor() -> None:
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="mine") as pool:
        name = await SlowSync.create_async("m", MESSAGES, executor=pool)
    assert name.startswith("mine")


async def test_create_async_timeout_raises_total_timeout() -> None:
    with pytest.raises(TotalTimeoutError) as info:
        await SlowSync.create_async("m", MESSAGES, timeout=0.05, pause=0.5)
    assert info.value.provider == "SlowSync"


async def test_create_async_on_another_running_loop() -> None:
    other = asyncio.new_event_loop()
    thread = threading.Thread(target=other.run_forever)
    thread.start()
    try:
        seen: list[asyncio.AbstractEventLoop] = []

        class WhereAmI(AsyncGeneratorProvider):
            @classmethod
            async def create_async_generator(  # type: ignore[override]
                cls, model: str, messages: Any, **kwargs: Any
            ) -> Any:
                seen.append(asyncio.get_running_loop())
                yield "here"

        assert await WhereAmI.create_async("m", MESSAGES, loop=other) == "here"
        assert seen == [other]
    finally:
        other.call_soon_threadsafe(other.stop)
        thread.join()
        other.close()


async def test_generator_provider_create_async_honours_timeout() -> None:
    class Slow(AsyncGeneratorProvider):
        @classmethod
        async def create_async_generator(  # type: ignore[override]
            cls, model: str, messages: Any, **kwargs: Any
        ) -> Any:
            yield "a"
            await asyncio.sleep(5)
            yield "b"

    with pytest.raises(TotalTimeoutError):
        await Slow.create_async("m", MESSAGES, timeout=0.05)


async def test_async_provider_entry_points() -> None:
    assert await AsyncStory.create_async("", MESSAGES) == concat_chunks(
        compose("story-small", MESSAGES)
    )
    answer = await AsyncStory.get_async_create_function()("", MESSAGES, seed=3)
    assert answer == concat_chunks(compose("story-small", MESSAGES, seed=3))


# ------------------------------------------------------------------------------------------
# raise_error


class Api(RaiseErrorMixin):
    pass


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        ({"error": {"message": "bad key", "type": "invalid_request_error"}}, 401, MissingAuthError),
        ({"error": {"message": "no", "type": "permission_error"}}, 403, MissingAuthError),
        ({"error": "pay up"}, 402, PaymentRequiredError),
        ({"error": {"message": "quota", "code": "insufficient_quota"}}, 429, PaymentRequiredError),
        ({"error": {"message": "bad", "type": "invalid_request_error"}}, 400, BadRequestError),
        ({"error": {"message": "slow down"}}, 429, RateLimitError),
        ({"error": {"message": "The model `x` does not exist"}}, 404, ModelNotFoundError),
        ({"error": {"message": "no such route"}}, 404, ResponseStatusError),
        ({"error": {"message": "boom"}}, 500, ResponseStatusError),
        (
            {"error": {"message": "overloaded", "type": "overloaded_error"}},
            529,
            ResponseStatusError,
        ),
        (  # Anthropic, inside a 200 stream
            {"type": "error", "error": {"type": "rate_limit_error", "message": "slow"}},
            None,
            RateLimitError,
        ),
        (  # Gemini
            {"error": {"code": 429, "message": "exhausted", "status": "RESOURCE_EXHAUSTED"}},
            429,
            RateLimitError,
        ),
        (
            [{"error": {"code": 400, "message": "bad", "status": "INVALID_ARGUMENT"}}],
            400,
            BadRequestError,
        ),
        ("upstream exploded", 502, ResponseStatusError),
        ({"error_message": "g4f style"}, None, ResponseError),
    ],
)
def test_raise_error_maps_status_and_shape(body: Any, status: int | None, error: type) -> None:
    with pytest.raises(error) as info:
        Api.raise_error(body, status)
    assert type(info.value) is error
    assert info.value.status_code == status
    assert info.value.provider == "Api"


def test_raise_error_keeps_the_message() -> None:
    with pytest.raises(BadRequestError, match="field 'x' is wrong"):
        Api.raise_error({"error": {"message": "field 'x' is wrong"}}, 400)


def test_raise_error_is_quiet_for_normal_data() -> None:
    Api.raise_error({"choices": []})
    Api.raise_error({"error": None, "data": 1}, 200)


def test_raise_error_reads_retry_after() -> None:
    with pytest.raises(RateLimitError) as info:
        Api.raise_error({"error": {"message": "slow"}}, 429, headers={"Retry-After": "7"})
    assert info.value.retry_after == 7
    gemini = {
        "error": {
            "code": 429,
            "message": "quota",
            "status": "RESOURCE_EXHAUSTED",
            "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "12s"}],
        }
    }
    with pytest.raises(RateLimitError) as info:
        Api.raise_error(gemini, 429)
    assert info.value.retry_after == 12


def test_raise_error_never_shows_the_key() -> None:
    key = "sk-proj-abcdefghijklmnopqrstuvwxyz0123456789"
    body = {"error": {"message": f"Incorrect API key provided: {key}"}}
    with pytest.raises(MissingAuthError) as info:
        Api.raise_error(body, 401, secrets=[key])
    for text in (str(info.value), repr(info.value), json.dumps(info.value.body)):
        assert key not in text
        assert "abcdefghijkl" not in text
