"""The one bridge from llmrelay's async code to sync callers.

Providers are written once, as coroutines or async generators. Sync callers reach them through
`run_sync` and `to_sync_generator`: one implementation, two drivers.

* A thread with no event loop running (a script, a web worker thread) runs the async code on
  an event loop of its own, kept for the thread's life: no thread hop, and its HTTP pool is
  reused from call to call.
* A thread whose loop is already running (Jupyter, a FastAPI handler) hands the work to a
  private event loop in a background thread ("the bridge loop") and waits: it works there
  without `nest_asyncio`.

Guarantees:

* Exceptions keep their type and traceback.
* Leaving a sync stream early (`break`, an exception, garbage collection) cancels the async
  generator and waits for its `finally` blocks before returning.
* Backpressure: a sync stream reads at most `READ_AHEAD` items ahead of its consumer.
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
from collections import deque
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Awaitable,
    Callable,
    Coroutine,
    Iterable,
    Iterator,
)
from typing import Any, TypeVar

from ..errors import InvalidRequestError, LLMRelayError, TotalTimeoutError

T = TypeVar("T")

__all__ = [
    "get_running_loop",
    "propagate_context_var",
    "run_in_executor",
    "run_sync",
    "timeout_seconds",
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


def _propagated_values() -> tuple[Any, ...]:
    return tuple([var.get(_UNSET) for var in _propagated])


_UNSET = object()


def _copy_back(snapshot: contextvars.Context) -> None:
    for var in _propagated:
        if var in snapshot:
            var.set(snapshot[var])


async def _drain(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel the loop's other tasks and close its async generators (and so its HTTP pools)."""
    current = asyncio.current_task()
    tasks = [t for t in asyncio.all_tasks(loop) if t is not current]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await loop.shutdown_asyncgens()


class _Bridge:
    """An event loop running forever in a daemon thread, for this process only."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="llmrelay-bridge")
        self.thread.daemon = True
        self.thread.start()

    def close(self) -> None:
        if self.pid != os.getpid() or self.loop.is_closed():
            return
        with contextlib.suppress(concurrent.futures.TimeoutError, RuntimeError):
            future = asyncio.run_coroutine_threadsafe(_drain(self.loop), self.loop)
            future.result(CLOSE_WAIT_SECONDS)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(CLOSE_WAIT_SECONDS)
        if not self.thread.is_alive():
            self.loop.close()


class _ThreadLoops:
    """The event loop of each thread that calls the sync API with no loop running: the async
    code runs right there, without a thread hop. A loop whose thread has ended is closed the
    next time a loop is made, and every loop at exit, so their number stays bounded by the
    threads alive."""

    def __init__(self) -> None:
        self.local = threading.local()
        self.lock = threading.Lock()
        self.loops: list[tuple[threading.Thread, asyncio.AbstractEventLoop]] = []
        self.pid = os.getpid()

    def get(self) -> asyncio.AbstractEventLoop:
        loop: asyncio.AbstractEventLoop | None = getattr(self.local, "loop", None)
        if loop is not None and self.pid == os.getpid():
            return loop
        with self.lock:
            if self.pid != os.getpid():  # a forked child: the parent's loops are not ours
                self.pid, self.loops, self.local = os.getpid(), [], threading.local()
            ended = [loop for thread, loop in self.loops if not thread.is_alive()]
            self.loops = [(t, lp) for t, lp in self.loops if t.is_alive()]
            loop = asyncio.new_event_loop()
            self.loops.append((threading.current_thread(), loop))
        for old in ended:
            _close_idle_loop(old)
        self.local.loop = loop
        return loop

    def close_all(self) -> None:
        if self.pid != os.getpid():
            return
        with self.lock:
            loops, self.loops = [loop for _, loop in self.loops], []
        for loop in loops:
            _close_idle_loop(loop)


def _close_idle_loop(loop: asyncio.AbstractEventLoop) -> None:
    """Close a loop that no thread is running (its owner has ended, or the process exits)."""
    if loop.is_closed() or loop.is_running():
        return
    with contextlib.suppress(Exception):
        loop.run_until_complete(_drain(loop))
    loop.close()


_bridge: _Bridge | None = None
_bridge_lock = threading.Lock()
_thread_loops = _ThreadLoops()


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


def _driver() -> tuple[asyncio.AbstractEventLoop, bool]:
    """The loop to run async code on for a sync caller, and whether it is this thread's own
    (else the bridge loop, for a thread where a loop is already running)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return _thread_loops.get(), True
    return _bridge_loop(), False


@atexit.register
def _close_loops() -> None:
    _thread_loops.close_all()
    if _bridge is not None:
        _bridge.close()


def get_running_loop(check_nested: bool = False) -> asyncio.AbstractEventLoop | None:
    """The running loop of this thread, or None. (`check_nested` is accepted for g4f: a running
    loop is never a problem here, since sync calls then go through the bridge loop.)"""
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
    """Run `coro` to its end for a sync caller and return its result (or raise its exception):
    on this thread's own loop, or on the bridge loop where a loop is running already."""
    try:
        loop, here = _driver()
    except BaseException:
        coro.close()
        raise
    box: list[contextvars.Context] = []
    try:
        if here:
            return _run_here(loop, _capturing(coro, box))
        future = asyncio.run_coroutine_threadsafe(_capturing(coro, box), loop)
        try:
            return future.result()
        except BaseException:
            future.cancel()
            raise
    finally:
        if box:
            _copy_back(box[0])


def _run_here(loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, T]) -> T:
    task = loop.create_task(coro)
    try:
        return loop.run_until_complete(task)
    except BaseException:
        if not task.done():  # interrupted (KeyboardInterrupt): cancel and let it clean up
            task.cancel()
            with contextlib.suppress(BaseException):
                loop.run_until_complete(task)
        _settle(loop)
        raise


def _settle(loop: asyncio.AbstractEventLoop) -> None:
    """Run the callbacks a cleanup left ready (a closed connection's socket is closed by one),
    now rather than on the thread's next call: the upstream sees the request end at once."""
    with contextlib.suppress(BaseException):
        loop.run_until_complete(asyncio.sleep(0))


#: How many items a sync stream reads ahead of its consumer (backpressure beyond that); the
#: producer is woken again once the consumer has taken half of them. Each refill costs one
#: turn of the event loop (bench/overhead.py: 8 cost a 100-chunk stream ~15 % more than 16).
READ_AHEAD = 16


class _Pipe:
    """Items of an async iterator handed to a sync consumer, at most `READ_AHEAD` ahead.

    The producer runs on an event loop; the consumer is a plain thread, which either runs that
    loop itself until an item arrives (`here`) or waits for the bridge loop's thread to hand
    one over. An item carries a snapshot of the producer's context variables when those that
    propagate changed since the last item (else None: nothing to copy back).
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, here: bool) -> None:
        self.loop, self.here = loop, here
        self.items: deque[tuple[Any, contextvars.Context | None]] = deque()
        self.done = False
        self.error: BaseException | None = None
        self.resume: asyncio.Future[None] | None = None  # set while the producer waits
        self.waiting = False  # the consumer waits for an item
        self.ready = threading.Event()  # an item or the end is there (bridge only)

    def _wake(self) -> None:
        if self.waiting:
            self.waiting = False
            if self.here:
                self.loop.stop()
            else:
                self.ready.set()

    async def pump(self, agen: AsyncIterator[Any]) -> None:
        items, propagated = self.items, _propagated
        try:
            seen: list[Any] = []
            async for item in agen:
                values = [var.get(_UNSET) for var in propagated] if propagated else seen
                items.append((item, None if values == seen else contextvars.copy_context()))
                seen = values
                if self.waiting:
                    self._wake()
                if len(items) >= READ_AHEAD:
                    resume = self.resume = self.loop.create_future()
                    if len(items) >= READ_AHEAD:  # the consumer may have just taken some
                        await resume
                    self.resume = None
        except BaseException as exc:
            self.error = exc
            if not isinstance(exc, Exception):
                raise
        finally:
            try:
                aclose = getattr(agen, "aclose", None)
                if aclose is not None:
                    await aclose()
            finally:
                self.done = True
                self._wake()

    def fill(self) -> bool:
        """Wait until items are there (True) or the stream ended (False); raises the
        producer's exception."""
        while not self.items:
            if self.done:
                if self.error is not None:
                    raise self.error
                return False
            self.waiting = True
            if self.here:
                self.loop.run_forever()  # until the producer wakes us
            elif not (self.items or self.done):  # re-checked: the producer saw no waiter
                self.ready.wait()
                self.ready.clear()
            self.waiting = False
        return True

    def taken(self) -> None:
        """The consumer took an item: wake the producer once half the read-ahead is free."""
        resume = self.resume
        if resume is not None and len(self.items) <= READ_AHEAD // 2:
            self.resume = None
            if self.here:
                _release(resume)
            else:
                self.loop.call_soon_threadsafe(_release, resume)


def _release(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def to_sync_generator(
    agen: AsyncIterator[T], timeout: float | None = None, *, name: str | None = None
) -> Iterator[T]:
    """Iterate the async iterator `agen` from sync code: on this thread's own loop, or on the
    bridge loop where a loop is running already.

    `timeout` bounds the whole stream (`TotalTimeoutError`, naming `name`). At most
    `READ_AHEAD` items are read ahead of the caller; leaving early cancels `agen` and waits
    for its cleanup.
    """
    loop, here = _driver()
    pipe = _Pipe(loop, here)
    source = agen if timeout is None else with_timeout(agen, timeout, name=name)
    owner = threading.current_thread()
    cancel: Callable[[], object]
    if here:
        task = loop.create_task(pipe.pump(source))
        cancel = task.cancel
    else:
        cancel = asyncio.run_coroutine_threadsafe(pipe.pump(source), loop).cancel
    items = pipe.items
    try:
        while pipe.fill():
            while items:
                item, snapshot = items.popleft()
                if snapshot is not None:
                    _copy_back(snapshot)
                if pipe.resume is not None:
                    pipe.taken()
                yield item
    finally:
        if not pipe.done:
            if not here:
                cancel()  # thread-safe: wait for the cleanup on the bridge loop
                pipe.waiting = True
                if not pipe.done:
                    pipe.ready.wait(CLOSE_WAIT_SECONDS)
            elif threading.current_thread() is owner and not loop.is_running():
                cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    loop.run_until_complete(task)
                _settle(loop)
            else:  # collected in another thread: cancelled when its own thread next runs it
                loop.call_soon_threadsafe(cancel)


def timeout_seconds(timeout: Any) -> float | None:
    """The deadline of a `timeout` argument: seconds, or an object's `total` (such as
    `transport.http.Timeouts`, which also sets connect and idle limits)."""
    total = getattr(timeout, "total", timeout)
    if total is None:
        return None
    if isinstance(total, bool) or not isinstance(total, int | float) or total <= 0:
        raise InvalidRequestError(f"timeout must be a positive number of seconds: {timeout!r}")
    return float(total)


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
