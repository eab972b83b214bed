"""The sync/async bridge: sync use anywhere, prompt cleanup, faithful exceptions, deadlines."""

from __future__ import annotations

import asyncio
import contextvars
import gc
import threading
import time
import traceback
from collections.abc import AsyncIterator

import pytest

from llmrelay.errors import LLMRelayError, TotalTimeoutError
from llmrelay.providers.asyncio import (
    READ_AHEAD,
    run_sync,
    to_async_iterator,
    to_sync_generator,
    with_timeout,
)


class Probe:
    """Records what an async generator went through."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.finalized = threading.Event()
        self.cancelled = False


async def counting(probe: Probe, limit: int = 1_000_000, pause: float = 0) -> AsyncIterator[int]:
    probe.started.set()
    try:
        for i in range(limit):
            await asyncio.sleep(pause)
            yield i
    except asyncio.CancelledError:
        probe.cancelled = True
        raise
    finally:
        probe.finalized.set()


def test_sync_generator_yields_everything() -> None:
    assert list(to_sync_generator(counting(Probe(), 5))) == [0, 1, 2, 3, 4]


def test_sync_generator_works_inside_a_running_loop() -> None:
    async def handler() -> list[int]:
        return list(to_sync_generator(counting(Probe(), 3)))

    assert asyncio.run(handler()) == [0, 1, 2]


def test_break_closes_the_async_generator_before_returning() -> None:
    probe = Probe()
    for item in to_sync_generator(counting(probe, pause=0.001)):
        if item == 3:
            break
    # The for loop dropped the generator: its finally must already have run.
    assert probe.finalized.is_set()
    assert probe.cancelled


def consume_and_fail(probe: Probe) -> None:
    for _ in to_sync_generator(counting(probe, pause=0.001)):
        raise KeyError("consumer failed")


def test_exception_in_consumer_closes_the_async_generator() -> None:
    probe = Probe()
    with pytest.raises(KeyError):
        consume_and_fail(probe)
    assert probe.finalized.is_set()


def test_garbage_collection_closes_the_async_generator() -> None:
    probe = Probe()
    gen = to_sync_generator(counting(probe, pause=0.001))
    assert next(gen) == 0
    del gen
    gc.collect()
    assert probe.finalized.wait(5)


async def failing() -> AsyncIterator[str]:
    yield "partial"
    raise_deep()


def raise_deep() -> None:
    raise LookupError("deep failure")


def test_exceptions_keep_type_and_traceback() -> None:
    gen = to_sync_generator(failing())
    assert next(gen) == "partial"
    with pytest.raises(LookupError, match="deep failure") as info:
        next(gen)
    frames = [frame.name for frame in traceback.extract_tb(info.value.__traceback__)]
    assert "raise_deep" in frames
    assert "failing" in frames


def test_run_sync_returns_and_raises() -> None:
    async def value() -> int:
        return 42

    async def boom() -> None:
        raise_deep()

    assert run_sync(value()) == 42
    with pytest.raises(LookupError) as info:
        run_sync(boom())
    assert "raise_deep" in [f.name for f in traceback.extract_tb(info.value.__traceback__)]


def test_timeout_bounds_the_whole_stream_and_names_the_provider() -> None:
    probe = Probe()
    with pytest.raises(TotalTimeoutError, match="Slow") as info:
        list(to_sync_generator(counting(probe, pause=0.01), timeout=0.1, name="Slow"))
    assert info.value.provider == "Slow"
    assert probe.finalized.is_set()


async def test_with_timeout_async() -> None:
    probe = Probe()
    seen: list[int] = []

    async def consume() -> None:
        async for item in with_timeout(counting(probe, pause=0.01), 0.1, name="Slow"):
            seen.append(item)

    with pytest.raises(TotalTimeoutError):
        await consume()
    assert seen  # some items arrived before the deadline
    assert probe.finalized.is_set()


async def test_closing_with_timeout_closes_its_inner_generator_at_once() -> None:
    """The consumer stops early (aclose while the inner generator waits at a yield): the inner
    generator is finalized now, not left for the garbage collector."""
    probe = Probe()
    outer = with_timeout(counting(probe), 10)
    assert await outer.__anext__() == 0
    await outer.aclose()
    assert probe.finalized.is_set()


async def test_with_timeout_passes_a_providers_own_timeout_error() -> None:
    async def own_timeout() -> AsyncIterator[int]:
        yield 1
        raise TimeoutError("provider's own")

    with pytest.raises(TimeoutError, match="provider's own") as info:
        async for _ in with_timeout(own_timeout(), 10):
            pass
    assert not isinstance(info.value, TotalTimeoutError)


request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="none")


def test_async_code_sees_the_callers_context() -> None:
    async def read() -> AsyncIterator[str]:
        yield request_id.get()

    token = request_id.set("abc")
    try:
        assert list(to_sync_generator(read())) == ["abc"]
        assert run_sync(_get_request_id()) == "abc"
    finally:
        request_id.reset(token)


async def _get_request_id() -> str:
    return request_id.get()


def test_sync_api_on_the_bridge_loop_is_refused_clearly() -> None:
    async def nested() -> AsyncIterator[int]:
        yield sum(to_sync_generator(counting(Probe(), 2)))

    async def handler() -> list[int]:  # a running loop: the work goes to the bridge loop
        return list(to_sync_generator(nested()))

    with pytest.raises(LLMRelayError, match="use the async API"):
        asyncio.run(handler())


def test_a_thread_without_a_loop_runs_the_async_code_itself() -> None:
    async def where() -> AsyncIterator[threading.Thread]:
        yield threading.current_thread()

    async def where_now() -> threading.Thread:
        return threading.current_thread()

    assert list(to_sync_generator(where())) == [threading.current_thread()]
    assert run_sync(where_now()) is threading.current_thread()

    async def handler() -> list[threading.Thread]:  # a loop is running: the bridge thread
        return list(to_sync_generator(where()))

    assert asyncio.run(handler())[0].name == "llmrelay-bridge"


@pytest.mark.parametrize("inside_a_loop", [False, True])
def test_a_slow_consumer_holds_the_producer_back(inside_a_loop: bool) -> None:
    produced: list[int] = []

    async def fast() -> AsyncIterator[int]:
        for i in range(100):
            produced.append(i)
            yield i
            await asyncio.sleep(0)

    def consume() -> int:
        gen = to_sync_generator(fast())
        assert next(gen) == 0
        time.sleep(0.2)  # the producer gets every chance to run ahead
        ahead = len(produced)
        gen.close()
        return ahead

    async def in_loop() -> int:
        return consume()

    ahead = asyncio.run(in_loop()) if inside_a_loop else consume()
    assert ahead <= READ_AHEAD + 2


def test_a_threads_own_loop_is_closed_after_the_thread_ends() -> None:
    loops: list[asyncio.AbstractEventLoop] = []

    async def grab() -> None:
        loops.append(asyncio.get_running_loop())

    worker = threading.Thread(target=lambda: run_sync(grab()))
    worker.start()
    worker.join()
    assert not loops[0].is_closed()
    threading.Thread(target=lambda: run_sync(grab())).start()  # makes a loop: sweeps the old
    deadline = time.monotonic() + 5
    while not loops[0].is_closed() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert loops[0].is_closed()


async def test_to_async_iterator_accepts_sync_async_and_awaitables() -> None:
    async def one() -> str:
        return "one"

    assert [x async for x in to_async_iterator(iter([1, 2]))] == [1, 2]
    assert [x async for x in to_async_iterator(counting(Probe(), 2))] == [0, 1]
    assert [x async for x in to_async_iterator(one())] == ["one"]


def test_sync_streams_from_many_threads_at_once() -> None:
    results: dict[int, list[int]] = {}

    def work(n: int) -> None:
        results[n] = list(to_sync_generator(counting(Probe(), n, pause=0.001)))

    threads = [threading.Thread(target=work, args=(n,)) for n in range(1, 9)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == {n: list(range(n)) for n in range(1, 9)}
