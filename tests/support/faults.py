"""A misbehaving upstream that every wire format's tests share.

Each fault is a small frozen dataclass that plays raw bytes, whatever the API: queue one on any
fake (``fake.script(Cut(b"data: ..."))``: every ``support.fake_*`` server plays a `Fault`
for the next POST, before its own routes run) or serve them alone with ``FaultServer`` (any
method and path; ``server.url``).

- ``Body(data, status, headers, content_type)``: a complete answer, closed cleanly. With
  `without_end_marker` / `IN_STREAM_ERRORS` / `MALFORMED` / `giant_event`, it is the clean close
  without the end marker, the error inside a 200 stream in each family's shapes, malformed JSON
  and the giant event.
- ``Cut(head)``: 200 stream headers, ``head``, then the connection is dropped (mid-stream).
- ``Truncated(data)``: a whole body under its full Content-Length, cut halfway.
- ``Reset()``: the connection is closed before any response byte (a stale keep-alive).
- ``StallHeaders()`` / ``StallBody(head)``: silence before headers / after headers and ``head``.
- ``Drip(interval, payload)``: headers, then ``payload`` every ``interval`` s (under an idle
  timeout, forever).
- ``retry_status(code, form, seconds)``: a 429/5xx with ``Retry-After`` in each form
  (``seconds``, ``ms``, ``date``).
- ``Redirect(location, status)``: a redirect (to another origin, to a private address, …).

Stalls and drips end when the client goes away, when the server stops, or after ``max_seconds``.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import json
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal, Self

from aiohttp import web

SSE = "text/event-stream"
NDJSON = "application/x-ndjson"


@dataclass(frozen=True)
class Body:
    data: bytes = b""
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    content_type: str = SSE


@dataclass(frozen=True)
class Cut:
    head: bytes = b""
    content_type: str = SSE


@dataclass(frozen=True)
class Truncated:
    """A whole (non-streamed) body announced with its full Content-Length, half sent, then the
    connection dropped."""

    data: bytes
    content_type: str = "application/json"


@dataclass(frozen=True)
class Reset:
    pass


@dataclass(frozen=True)
class StallHeaders:
    max_seconds: float = 60.0


@dataclass(frozen=True)
class StallBody:
    head: bytes = b""
    content_type: str = SSE
    max_seconds: float = 60.0


@dataclass(frozen=True)
class Drip:
    interval: float = 0.05
    payload: bytes = b":\n"
    content_type: str = SSE
    max_seconds: float = 60.0


@dataclass(frozen=True)
class Redirect:
    location: str
    status: int = 307


Fault = Body | Cut | Truncated | Reset | StallHeaders | StallBody | Drip | Redirect


def sse(obj: object, event: str | None = None) -> bytes:
    head = f"event: {event}\n".encode() if event else b""
    return head + b"data: " + json.dumps(obj).encode() + b"\n\n"


def _openai_chunk(text: str) -> dict[str, object]:
    return {
        "id": "chatcmpl-f",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "m",
        "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}],
    }


#: The first bytes of a normal OpenAI stream (two content chunks, "Hel" + "lo").
OPENAI_HEAD = sse(_openai_chunk("Hel")) + sse(_openai_chunk("lo"))

#: An error inside a 200 stream, as each family sends it (after some content where it can).
IN_STREAM_ERRORS: dict[str, tuple[str, bytes]] = {
    "openai": (SSE, OPENAI_HEAD + sse({"error": {"message": "boom", "type": "server_error"}})),
    "openai-event": (SSE, OPENAI_HEAD + sse({"message": "boom"}, "error") + b"data: [DONE]\n\n"),
    "openai-event-empty": (SSE, OPENAI_HEAD + b"event: error\ndata: {}\n\ndata: [DONE]\n\n"),
    "openai-event-text": (SSE, OPENAI_HEAD + b"event: error\ndata: boom\n\ndata: [DONE]\n\n"),
    "vllm": (
        SSE,
        OPENAI_HEAD
        + sse({"object": "error", "message": "boom", "type": "BadRequestError", "code": 400})
        + b"data: [DONE]\n\n",
    ),
    "anthropic": (
        SSE,
        sse({"type": "error", "error": {"type": "overloaded_error", "message": "boom"}}, "error"),
    ),
    "gemini": (SSE, sse({"error": {"code": 500, "message": "boom", "status": "INTERNAL"}})),
    "ollama": (NDJSON, b'{"error": "boom"}\n'),
}

#: Malformed JSON in each framing.
MALFORMED: dict[str, tuple[str, bytes]] = {
    "sse": (SSE, b"data: {not json\n\n"),
    "ndjson": (NDJSON, b"{not json\n"),
}


def without_end_marker() -> Body:
    """An OpenAI stream that closes cleanly after content, with no finish and no ``[DONE]``."""
    return Body(OPENAI_HEAD)


def in_stream_error(family: str) -> Body:
    content_type, data = IN_STREAM_ERRORS[family]
    return Body(data, content_type=content_type)


def malformed(framing: Literal["sse", "ndjson"]) -> Body:
    content_type, data = MALFORMED[framing]
    return Body(data, content_type=content_type)


def giant_event(size: int, framing: Literal["sse", "ndjson"] = "sse") -> Body:
    """One event (or line) of more than ``size`` bytes."""
    text = json.dumps({"pad": "x" * size}).encode()
    if framing == "ndjson":
        return Body(text + b"\n", content_type=NDJSON)
    return Body(b"data: " + text + b"\n\n")


def retry_status(
    code: int = 429, form: Literal["seconds", "ms", "date"] = "seconds", seconds: float = 1.0
) -> Body:
    """A JSON error with ``code`` and Retry-After in ``form``."""
    if form == "seconds":
        headers = {"Retry-After": f"{seconds:g}"}
    elif form == "ms":
        headers = {"retry-after-ms": f"{seconds * 1000:g}"}
    else:
        headers = {"Retry-After": email.utils.formatdate(time.time() + seconds, usegmt=True)}
    body = json.dumps({"error": {"message": f"HTTP {code}", "type": "server_error"}}).encode()
    return Body(body, code, headers, "application/json")


def drop(request: web.Request) -> web.Response:
    """Close the connection after what was written so far (the returned response is not sent)."""
    if request.transport is not None:
        request.transport.close()
    return web.Response()


async def play(
    request: web.Request, fault: Fault, idle: Callable[[float], Awaitable[bool]]
) -> web.StreamResponse:
    """Answer ``request`` as ``fault`` says; ``idle(seconds)`` waits that long, or less if the
    server stops (then it returns True)."""
    if isinstance(fault, Body):
        headers = {"content-type": fault.content_type, **fault.headers}
        return web.Response(status=fault.status, body=fault.data, headers=headers)
    if isinstance(fault, Redirect):
        return web.Response(status=fault.status, headers={"Location": fault.location})
    if isinstance(fault, Reset):
        return drop(request)
    if isinstance(fault, StallHeaders):
        await idle(fault.max_seconds)
        return drop(request)
    if isinstance(fault, Truncated):
        response = web.StreamResponse(headers={"content-type": fault.content_type})
        response.content_length = len(fault.data)
        await response.prepare(request)
        await response.write(fault.data[: len(fault.data) // 2])
        return drop(request)
    response = web.StreamResponse(headers={"content-type": fault.content_type})
    await response.prepare(request)
    if isinstance(fault, Drip):
        deadline = asyncio.get_running_loop().time() + fault.max_seconds
        while asyncio.get_running_loop().time() < deadline:
            await response.write(fault.payload)
            if await idle(fault.interval):
                break
        return drop(request)
    await response.write(fault.head)
    if isinstance(fault, StallBody):
        await idle(fault.max_seconds)
    return drop(request)


class FaultServer:
    """Plays queued faults (else ``default``) for every request, any method and path."""

    def __init__(self, default: Fault | None = None) -> None:
        self.default: Fault = default if default is not None else Body(b"{}", 200)
        self.requests: list[tuple[str, str, dict[str, str]]] = []  # method, path, headers
        self._queue: deque[Fault] = deque()
        self._runner: web.AppRunner | None = None
        self._closing = asyncio.Event()
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def script(self, *faults: Fault) -> None:
        self._queue.extend(faults)

    async def _idle(self, seconds: float) -> bool:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._closing.wait()
        return self._closing.is_set()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        await request.read()
        self.requests.append((request.method, request.path_qs, dict(request.headers)))
        fault = self._queue.popleft() if self._queue else self.default
        with contextlib.suppress(ConnectionResetError):
            return await play(request, fault, self._idle)
        return web.Response()

    async def __aenter__(self) -> Self:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._closing = asyncio.Event()
        self._runner = web.AppRunner(app, handler_cancellation=True, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.port = self._runner.addresses[0][1]
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self._closing.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
