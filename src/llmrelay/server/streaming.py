"""Answers on the wire: JSON bodies, and SSE streams that never lie.

A stream's headers go out only once its first event is ready, so a failure before the first
byte (when failover may still happen) is an ordinary HTTP error with its status. After that, a
failure ends the stream with the API's error event — never a made-up finish reason.

Events that are ready together leave together: a producer task encodes chunks into a buffer
while the handler writes whatever has gathered in one `send`, so a burst of upstream chunks
costs one write, and a slow stream still goes out chunk by chunk at once. A client that
disconnects cancels the request's task (see `DisconnectWatch`), and with it the producer and
the upstream request.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

__all__ = ["DisconnectWatch", "send_json", "send_stream"]

Send = Callable[[dict[str, Any]], Any]
Receive = Callable[[], Any]

JSON_TYPE = (b"content-type", b"application/json")
SSE_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]


async def send_json(
    send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    """A whole JSON answer."""
    all_headers = [JSON_TYPE, (b"content-length", str(len(body)).encode())]
    if headers:
        all_headers += headers
    await send({"type": "http.response.start", "status": status, "headers": all_headers})
    await send({"type": "http.response.body", "body": body})


class DisconnectWatch:
    """Cancels the request's task when its client goes away before the answer is complete.

    `disconnected` then tells the handler (which catches the `CancelledError`, uncancels its
    task and returns) that nobody is listening any more."""

    __slots__ = ("_task", "_watcher", "disconnected", "done")

    def __init__(self, receive: Receive) -> None:
        self.disconnected = False
        self.done = False
        self._task = asyncio.current_task()
        self._watcher = asyncio.get_running_loop().create_task(self._watch(receive))

    async def _watch(self, receive: Receive) -> None:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
        if not self.done and self._task is not None:
            self.disconnected = True
            self._task.cancel()

    def close(self) -> None:
        self.done = True
        self._watcher.cancel()

    def absorb(self) -> bool:
        """In an `except CancelledError`: True (and the task uncancelled) if the cancellation
        came from the client's disconnect, False if it must propagate (shutdown)."""
        if self.disconnected and self._task is not None:
            self._task.uncancel()
            return True
        return False


class _Pump:
    """Encodes events into a buffer from its own task; `gather` takes what is ready."""

    __slots__ = ("buffer", "done", "error", "ready", "task")

    def __init__(self, first: bytes, events: AsyncIterator[bytes]) -> None:
        self.buffer = [first]
        self.ready = asyncio.Event()
        self.ready.set()
        self.done = False
        self.error: BaseException | None = None
        self.task = asyncio.get_running_loop().create_task(self._run(events))

    async def _run(self, events: AsyncIterator[bytes]) -> None:
        buffer, ready = self.buffer, self.ready
        try:
            async for data in events:
                if data:
                    buffer.append(data)
                    ready.set()
        except Exception as exc:
            self.error = exc
        finally:
            self.done = True
            ready.set()

    async def gather(self) -> bytes:
        await self.ready.wait()
        self.ready.clear()
        data = b"".join(self.buffer)
        self.buffer.clear()
        return data


async def send_stream(
    send: Send,
    first: bytes,
    events: AsyncIterator[bytes],
    end: bytes,
    on_error: Callable[[BaseException], bytes],
    headers: list[tuple[bytes, bytes]] | None = None,
) -> BaseException | None:
    """Stream `first` then `events`, then `end` — or, if `events` fails, `on_error(exc)`.

    Returns the error that cut the stream, if any (after the caller's client saw it)."""
    start_headers = SSE_HEADERS + headers if headers else SSE_HEADERS
    await send({"type": "http.response.start", "status": 200, "headers": start_headers})
    pump = _Pump(first, events)
    try:
        while True:
            data = await pump.gather()
            if pump.done:
                tail = end if pump.error is None else on_error(pump.error)
                await send({"type": "http.response.body", "body": data + tail})
                return pump.error
            if data:
                await send({"type": "http.response.body", "body": data, "more_body": True})
    finally:
        if not pump.task.done():
            pump.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pump.task
