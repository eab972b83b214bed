"""The one bridge from llmrelay's async code to sync callers.

Providers are written once, as coroutines or async generators. Sync callers reach them through
`run_sync` and `to_sync_generator`, which run the async code on a private event loop in a
background thread ("the bridge loop"). Because the caller's thread never runs a loop itself,
the sync API works where a loop is already running (Jupyter, a FastAPI handler) without
`nest_asyncio`.

Guarantees:

* Exceptions keep their type and traceback.
* Leaving a sync stream early (`break`, an exception, garbage collection) cancels the async
  generator on the bridge loop and waits for its `finally` blocks before returning.
* Context variables flow both ways: the async code runs in a copy of the caller's context, and
  the variables registered with `propagate_context_var` (such as a provider's `last_model`) are
  copied back to the caller after each chunk, so per-request state never leaks between threads.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import contextlib
import contextvars
import os
import threading
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Awaitable,
    Callable,
    Coroutine,
    Iterable,
    Iterator,
)
from queue import SimpleQueue
from typing import Any, TypeVar

from ..errors import LLMRelayError, TotalTimeoutError

T = TypeVar("T")

__all__ = [
    "get_running_loop",
    "propagate_context_var",
    "run_in_executor",
    "run_sync",
    "to_async_iterator",
    "to_sync_generator",
    "with_timeout",
]

#: How long closing a sync stream waits for the async generator's cleanup.
CLOSE_WAIT_SECONDS = 10.0

_propagated: list[contextvars.ContextVar[Any]] = []


def propagate_context_var(var: contextvars.ContextVar[Any]) -> None:
    """Copy `var` back to sync callers after the bridge ran their async code (import time)."""
    if var not in _propagated:
        _propagated.append(var)


def _copy_back(snapshot: contextvars.Context) -> None:
    for var in _propagated:
        if var in snapshot:
            var.set(snapshot[var])


class _Bridge:
    """An event loop running forever in a daemon thread, for this process only."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="llmrelay-bridge")
        self.thread.daemon = True
        self.thread.start()

    async def _drain(self) -> None:
        current = asyncio.current_task()
        tasks = [t for t in asyncio.all_tasks() if t is not current]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.loop.shutdown_asyncgens()  # closes the loop's HTTP pools too

    def close(self) -> None:
        if self.pid != os.getpid() or self.loop.is_closed():
            return
        with contextlib.suppress(concurrent.futures.TimeoutError, RuntimeError):
            asyncio.run_coroutine_threadsafe(self._drain(), self.loop).result(CLOSE_WAIT_SECONDS)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(CLOSE_WAIT_SECONDS)
        if not self.thread.is_alive():
            self.loop.close()


_bridge: _Bridge | None = None
_bridge_lock = threading.Lock()


def _bridge_loop() -> asyncio.AbstractEventLoop:
    global _bridge
    bridge = _bridge
    if bridge is None or bridge.pid != os.getpid():  # first use, or we are a forked child
        with _bridge_lock:
            if _bridge is None or _bridge.pid != os.getpid():
                _bridge = _Bridge()
            bridge = _bridge
    if threading.current_thread() is bridge.thread:
        raise LLMRelayError(
            "a sync llmrelay API was called from async code running on llmrelay's own event "
            "loop; use the async API there (create_async_generator / create_async)"
        )
    return bridge.loop


@atexit.register
def _close_bridge() -> None:
    if _bridge is not None:
        _bridge.close()


def get_running_loop(check_nested: bool = False) -> asyncio.AbstractEventLoop | None:
    """The running loop of this thread, or None. (`check_nested` is accepted for g4f: a running
    loop is never a problem here, since sync calls go through the bridge.)"""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


async def _capturing(coro: Awaitable[T], box: list[contextvars.Context]) -> T:
    try:
        return await coro
    finally:
        box.append(contextvars.copy_context())


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run `coro` on the bridge loop and return its result (or raise its exception)."""
    try:
        loop = _bridge_loop()
    except BaseException:
        coro.close()
        raise
    box: list[contextvars.Context] = []
    future = asyncio.run_coroutine_threadsafe(_capturing(coro, box), loop)
    try:
        return future.result()
    except BaseException:
        future.cancel()
        raise
    finally:
        if box:
            _copy_back(box[0])


_ITEM, _END, _ERROR = 0, 1, 2


async def _pump(
    agen: AsyncIterator[T],
    put: Callable[[tuple[int, Any, contextvars.Context]], None],
    done: threading.Event,
) -> None:
    try:
        async for item in agen:
            put((_ITEM, item, contextvars.copy_context()))
        put((_END, None, contextvars.copy_context()))
    except BaseException as exc:
        put((_ERROR, exc, contextvars.copy_context()))
        if not isinstance(exc, Exception):
            raise
    finally:
        try:
            aclose = getattr(agen, "aclose", None)
            if aclose is not None:
                await aclose()
        finally:
            done.set()


def to_sync_generator(
    agen: AsyncIterator[T], timeout: float | None = None, *, name: str | None = None
) -> Iterator[T]:
    """Iterate the async iterator `agen` from sync code, on the bridge loop.

    `timeout` bounds the whole stream (`TotalTimeoutError`, naming `name`). Items are read
    ahead of the caller; leaving early cancels `agen` and waits for its cleanup.
    """
    loop = _bridge_loop()
    queue: SimpleQueue[tuple[int, Any, contextvars.Context]] = SimpleQueue()
    done = threading.Event()
    source = agen if timeout is None else with_timeout(agen, timeout, name=name)
    future = asyncio.run_coroutine_threadsafe(_pump(source, queue.put, done), loop)
    try:
        while True:
            kind, value, snapshot = queue.get()
            _copy_back(snapshot)
            if kind == _ITEM:
                yield value
            elif kind == _END:
                return
            else:
                raise value
    finally:
        if not done.is_set():
            future.cancel()
            done.wait(CLOSE_WAIT_SECONDS)


async def with_timeout(
    agen: AsyncIterator[T], timeout: float | None, *, name: str | None = None
) -> AsyncIterator[T]:
    """Yield from `agen`, raising `TotalTimeoutError` once `timeout` seconds have passed."""
    if timeout is None:
        async for item in agen:
            yield item
        return
    deadline = asyncio.get_running_loop().time() + timeout
    try:
        while True:
            scope = asyncio.timeout_at(deadline)
            try:
                async with scope:
                    item = await agen.__anext__()
            except StopAsyncIteration:
                return
            except TimeoutError as exc:
                if scope.expired():
                    raise TotalTimeoutError(
                        f"no complete answer within {timeout} s", provider=name
                    ) from exc
                raise
            yield item
    finally:
        aclose = getattr(agen, "aclose", None)
        if aclose is not None:
            await aclose()


async def run_in_executor(
    func: Callable[[], T],
    *,
    loop: asyncio.AbstractEventLoop | None = None,
    executor: concurrent.futures.Executor | None = None,
) -> T:
    """Run blocking `func` in `executor` (the loop's default if None), in a copy of this
    context, copying registered context variables back afterwards."""
    loop = loop or asyncio.get_running_loop()
    context = contextvars.copy_context()
    try:
        return await loop.run_in_executor(executor, context.run, func)
    finally:
        _copy_back(context)


async def to_async_iterator(source: Any) -> AsyncGenerator[Any, None]:
    """An async iterator over an async iterable, a sync iterable (stepped in a worker thread,
    so it never blocks the loop), or an awaitable (its one result). Closing it closes
    `source` at once (not when the garbage collector gets to it)."""
    if hasattr(source, "__aiter__"):
        try:
            async for item in source:
                yield item
        finally:
            aclose = getattr(source, "aclose", None)
            if aclose is not None:
                await aclose()
    elif isinstance(source, Iterable):
        iterator = iter(source)
        sentinel = object()
        while (item := await run_in_executor(lambda: next(iterator, sentinel))) is not sentinel:
            yield item
    else:
        yield await source
