"""The per-process limit on in-flight upstream requests: a bounded queue, then 503.

A request takes a slot before it calls a provider and gives it back when its answer (or its
stream) ends. When every slot is taken it waits in line up to `queue_timeout` seconds; a line
as long as the limit itself, or a wait that runs out, is refused with 503 and `Retry-After`.
"""

from __future__ import annotations

import asyncio

__all__ = ["InflightLimit"]


class InflightLimit:
    """`acquire()` → True when a slot was taken (then `release()` it), False: answer 503."""

    __slots__ = ("_free", "_waiters", "limit", "queue_timeout", "waiting")

    def __init__(self, limit: int, queue_timeout: float) -> None:
        self.limit = limit
        self.queue_timeout = queue_timeout
        self._free = limit
        self._waiters: asyncio.Queue[asyncio.Future[None]] | None = None
        self.waiting = 0

    @property
    def in_flight(self) -> int:
        return self.limit - self._free

    async def acquire(self) -> bool:
        if self._free > 0 and not self.waiting:
            self._free -= 1
            return True
        if self.waiting >= self.limit:
            return False
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self._waiters is None:
            self._waiters = asyncio.Queue()
        self._waiters.put_nowait(future)
        self.waiting += 1
        try:
            async with asyncio.timeout(self.queue_timeout):
                await future
        except TimeoutError:
            return False
        finally:
            self.waiting -= 1
            if not future.done():
                future.cancel()
        return True

    def release(self) -> None:
        """Give the slot back: to the first one waiting in line, else to the pool."""
        while self._waiters is not None and not self._waiters.empty():
            future = self._waiters.get_nowait()
            if not future.done():
                future.set_result(None)  # the slot passes on directly
                return
        self._free += 1
