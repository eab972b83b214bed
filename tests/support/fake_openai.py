"""A local fake of the OpenAI Chat Completions API, for tests: normal answers and faults.

``async with FakeOpenAI() as fake:`` serves ``fake.base_url`` (``http://127.0.0.1:PORT/v1``) from
the running loop; ``with FakeOpenAI.in_thread() as fake:`` serves it from a private loop in a
background thread. Routes: ``POST /v1/chat/completions``, ``GET /v1/models``; other paths get
OpenAI's JSON 404. Every request is recorded in ``fake.requests`` and counted by ``fake.received``.
Each chat request takes the next behaviour queued by ``fake.script(...)``, else ``fake.default``:

- ``Reply(content, reasoning, tool_calls, finish_reason, usage, chunk_size)``: a normal answer, a
  ``chat.completion`` object, or ``chat.completion.chunk`` events if the request has ``stream``.
- ``Many(chunks)``: a reply streamed as exactly ``chunks`` content chunks.
- ``Status(code, body, headers)``: an error status, with OpenAI's error body by default.
- ``StreamThenError(chunks, error)``: ``chunks`` chunks, then ``data: {"error": {...}}``.
- ``CutStream(chunks)``: ``chunks`` chunks, then the connection closes (no final chunk, no
  ``[DONE]``); for a non-streaming request, half the JSON body under a full Content-Length.
- ``Stall("headers")``: no answer at all. ``Stall("body", chunks)``: headers and ``chunks``
  chunks, then silence. ``Trickle(interval, payload)``: headers, then ``payload`` every interval.

The "chunks" of a fault are the first events of its ``reply``'s stream: the role chunk, then
reasoning, content and tool-call chunks (never the finish or usage chunk). Stalls and trickles end
when the client disconnects, when the fake stops, or after ``max_seconds`` (then the connection is
dropped). Handlers that see their client go away count it in ``fake.disconnects``.

Any fault of ``support.faults`` (cut, reset, stalls, drip, in-stream errors in every family's
shape, malformed JSON, giant events, Retry-After forms, redirects) may be queued too: it is
played as raw bytes for the next POST, on this fake and on every fake built on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Self

from aiohttp import web

from support.faults import Drip, Fault, StallHeaders, Truncated, drop, play

PROMPT_TOKENS = 10  # prompt_tokens of the automatic usage
_SSE_HEADERS = {"content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache"}
_ERRORS: dict[int, tuple[str, str, str | None]] = {  # status -> default (message, type, code)
    400: ("Invalid request.", "invalid_request_error", None),
    401: ("Incorrect API key provided.", "invalid_request_error", "invalid_api_key"),
    403: ("You are not allowed to do this.", "invalid_request_error", None),
    404: ("The model does not exist.", "invalid_request_error", "model_not_found"),
    429: ("Rate limit reached for requests.", "requests", "rate_limit_exceeded"),
    500: ("The server had an error while processing your request.", "server_error", None),
    503: ("The engine is currently overloaded.", "server_error", None),
}


def error_body(
    message: str,
    type: str = "invalid_request_error",
    code: str | None = None,
    param: str | None = None,
) -> dict[str, Any]:
    """OpenAI's error body: ``{"error": {"message", "type", "param", "code"}}``."""
    return {"error": {"message": message, "type": type, "param": param, "code": code}}


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int = PROMPT_TOKENS
    completion_tokens: int = 0
    reasoning_tokens: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.prompt_tokens + self.completion_tokens,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": self.reasoning_tokens,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        }


@dataclass(frozen=True)
class ToolCall:
    name: str
    arguments: str = "{}"  # JSON text, streamed in fragments
    id: str | None = None  # default: "call_<index>"


@dataclass(frozen=True)
class Reply:
    """A normal answer. ``usage=True``: ``PROMPT_TOKENS``, one completion token per piece."""

    content: str | None = "Hello world"
    reasoning: str | None = None  # sent as ``reasoning_content`` (DeepSeek style)
    tool_calls: Sequence[ToolCall] = ()
    finish_reason: str | None = None  # default: "tool_calls" with tool calls, else "stop"
    usage: Usage | bool = True
    chunk_size: int | None = None  # characters per streamed piece; None: one word per piece


@dataclass(frozen=True)
class Many:
    chunks: int = 100

    def reply(self) -> Reply:
        """Content ``"t0 t1 ... t<n-1>"``, streamed as ``"t0"``, ``" t1"``, ..."""
        return Reply(content=" ".join(f"t{i}" for i in range(self.chunks)))


@dataclass(frozen=True)
class Status:
    code: int
    body: Mapping[str, Any] | str | None = None  # None: ``error_body`` for ``code``
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class StreamThenError:
    chunks: int = 2
    # The inner error object; the event sent is ``data: {"error": <error>}``.
    error: Mapping[str, Any] = field(default_factory=lambda: error_body(*_ERRORS[500])["error"])
    reply: Reply = field(default_factory=Many(32).reply)


@dataclass(frozen=True)
class CutStream:
    chunks: int = 2
    reply: Reply = field(default_factory=Many(32).reply)


@dataclass(frozen=True)
class Stall:
    phase: Literal["headers", "body"] = "headers"
    chunks: int = 0  # "body" only
    reply: Reply = field(default_factory=Many(32).reply)
    max_seconds: float = 60.0


@dataclass(frozen=True)
class Trickle:
    interval: float = 0.05
    payload: bytes = b":"
    max_seconds: float = 60.0


#: Also any `support.faults.Fault`, played for the next POST whatever the API.
Behaviour = Reply | Many | Status | StreamThenError | CutStream | Stall | Trickle | Fault


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: Any  # parsed JSON; None if empty or not JSON
    raw: bytes


_RECORD = web.RequestKey("fake_openai_record", RecordedRequest)


class Counter:
    """A thread-safe counter that sync code and coroutines on any loop can wait for."""

    def __init__(self) -> None:
        self.value = 0
        self._cond = threading.Condition()
        self._waiters: list[tuple[int, asyncio.AbstractEventLoop, asyncio.Future[None]]] = []

    def increment(self) -> None:
        with self._cond:
            self.value += 1
            self._cond.notify_all()
            due = [(loop, future) for n, loop, future in self._waiters if n <= self.value]
        for loop, future in due:
            with contextlib.suppress(RuntimeError):  # that loop is closed: nobody waits
                loop.call_soon_threadsafe(_resolve, future)

    def wait(self, target: int = 1, timeout: float = 5.0) -> None:
        """Block until the value reaches ``target``; ``TimeoutError`` after ``timeout`` s."""
        with self._cond:
            if not self._cond.wait_for(lambda: self.value >= target, timeout):
                raise TimeoutError(f"counter is {self.value}, not {target}")

    async def wait_async(self, target: int = 1, timeout: float = 5.0) -> None:
        """Wait until the value reaches ``target``; ``TimeoutError`` after ``timeout`` s."""
        loop = asyncio.get_running_loop()
        waiter = (target, loop, loop.create_future())
        with self._cond:
            if self.value >= target:
                return
            self._waiters.append(waiter)
        try:
            async with asyncio.timeout(timeout):
                await waiter[2]
        except TimeoutError:
            raise TimeoutError(f"counter is {self.value}, not {target}") from None
        finally:
            with self._cond:
                self._waiters.remove(waiter)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _pieces(text: str, size: int | None) -> list[str]:
    if size is None:
        return re.findall(r"\s*\S+|\s+$", text)
    return [text[i : i + size] for i in range(0, len(text), size)]


def _dumps(obj: object) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def _sse(obj: object) -> bytes:
    return b"data: " + _dumps(obj) + b"\n\n"


def _json(obj: object, status: int = 200, headers: Mapping[str, str] | None = None) -> web.Response:
    all_headers = {"content-type": "application/json", **(headers or {})}
    return web.Response(status=status, body=_dumps(obj), headers=all_headers)


@dataclass(frozen=True)
class _Call:
    """One chat request: what it asked for, and how the answer is built."""

    id: str
    model: str
    stream: bool
    include_usage: bool
    created: int = field(default_factory=lambda: int(time.time()))

    def envelope(self, obj: str) -> dict[str, Any]:
        fields = {"id": self.id, "object": obj, "created": self.created, "model": self.model}
        return fields | {"service_tier": "default", "system_fingerprint": "fp_fake"}

    def chunk(self, delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        usage = {"usage": None} if self.include_usage else {}
        return {**self.envelope("chat.completion.chunk"), "choices": [choice], **usage}

    def events(self, reply: Reply) -> tuple[list[bytes], list[bytes]]:
        """SSE events: (role and piece chunks, then the finish chunk through ``[DONE]``)."""
        deltas = _deltas(reply)
        tail = [_sse(self.chunk({}, _finish_reason(reply)))]
        usage = _usage(reply, deltas)
        if self.include_usage and usage is not None:
            usage_chunk = {**self.envelope("chat.completion.chunk"), "choices": []}
            tail.append(_sse({**usage_chunk, "usage": usage.to_json()}))
        return [_sse(self.chunk(d)) for d in deltas], [*tail, b"data: [DONE]\n\n"]

    def completion(self, reply: Reply) -> dict[str, Any]:
        message: dict[str, Any] = {
            "role": "assistant",
            "content": reply.content,
            "refusal": None,
            "annotations": [],
        }
        if reply.reasoning is not None:
            message["reasoning_content"] = reply.reasoning
        if reply.tool_calls:
            message["tool_calls"] = [
                {"id": c.id or f"call_{i}", "type": "function", "function": _function(c)}
                for i, c in enumerate(reply.tool_calls)
            ]
        finish_reason = _finish_reason(reply)
        choice = {"index": 0, "message": message, "logprobs": None, "finish_reason": finish_reason}
        usage = _usage(reply, _deltas(reply))
        usage_json = {} if usage is None else {"usage": usage.to_json()}
        return {**self.envelope("chat.completion"), "choices": [choice], **usage_json}


def _function(call: ToolCall) -> dict[str, str]:
    return {"name": call.name, "arguments": call.arguments}


def _deltas(reply: Reply) -> list[dict[str, Any]]:
    """The streamed deltas: role, reasoning pieces, content pieces, tool-call fragments."""
    content = None if reply.content is None else ""
    deltas: list[dict[str, Any]] = [{"role": "assistant", "content": content, "refusal": None}]
    for piece in _pieces(reply.reasoning or "", reply.chunk_size):
        deltas.append({"content": None, "reasoning_content": piece})
    deltas += [{"content": piece} for piece in _pieces(reply.content or "", reply.chunk_size)]
    for i, call in enumerate(reply.tool_calls):
        first = {"index": i, "id": call.id or f"call_{i}", "type": "function"}
        deltas.append({"tool_calls": [{**first, "function": _function(call) | {"arguments": ""}}]})
        for piece in _pieces(call.arguments, reply.chunk_size):
            deltas.append({"tool_calls": [{"index": i, "function": {"arguments": piece}}]})
    return deltas


def _finish_reason(reply: Reply) -> str:
    return reply.finish_reason or ("tool_calls" if reply.tool_calls else "stop")


def _usage(reply: Reply, deltas: list[dict[str, Any]]) -> Usage | None:
    """``reply.usage``, or the automatic one: a completion token per delta after the role."""
    if reply.usage is False:
        return None
    if isinstance(reply.usage, Usage):
        return reply.usage
    reasoning = sum("reasoning_content" in d for d in deltas)
    return Usage(completion_tokens=len(deltas) - 1, reasoning_tokens=reasoning)


def _status(status: Status) -> web.Response:
    if isinstance(status.body, str):
        headers = {"content-type": "text/plain; charset=utf-8", **status.headers}
        return web.Response(status=status.code, body=status.body.encode(), headers=headers)
    body = status.body
    if body is None:
        kind = "server_error" if status.code >= 500 else "invalid_request_error"
        body = error_body(*_ERRORS.get(status.code, (f"HTTP {status.code}", kind, None)))
    return _json(body, status.code, status.headers)


async def _open_stream(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(headers=_SSE_HEADERS)
    await response.prepare(request)
    return response


_drop = drop  # the fakes built on this one import it from here


class FakeOpenAI:
    """The fake server; see the module docstring."""

    def __init__(
        self,
        *,
        models: Sequence[str] = ("gpt-4o-mini",),
        api_key: str | None = None,  # if set, requests without this key get 401 invalid_api_key
        default: Behaviour | None = None,  # when the script is empty; Reply() if None
    ) -> None:
        self.models = list(models)
        self.api_key = api_key
        self.default: Behaviour = default if default is not None else Reply()
        self.requests: list[RecordedRequest] = []
        self.received = Counter()  # requests arrived (recorded before their behaviour runs)
        self.disconnects = Counter()  # handlers that saw their client go away
        self._queue: deque[Behaviour] = deque()
        self._ids = itertools.count()
        self._runner: web.AppRunner | None = None
        self._closing = asyncio.Event()
        self._port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._port}/v1"

    def script(self, *behaviours: Behaviour) -> None:
        """Queue behaviours, consumed one per chat request."""
        self._queue.extend(behaviours)

    async def start(self) -> None:
        app = web.Application(middlewares=[self._middleware])
        self._routes(app.router)
        self._closing = asyncio.Event()
        # handler_cancellation: a client disconnect cancels its handler, which counts it.
        self._runner = web.AppRunner(
            app, handler_cancellation=True, access_log=None, shutdown_timeout=5.0
        )
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self._port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        self._closing.set()  # ends stalls and trickles now
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @classmethod
    @contextlib.contextmanager
    def in_thread(
        cls,
        *,
        models: Sequence[str] = ("gpt-4o-mini",),
        api_key: str | None = None,
        default: Behaviour | None = None,
    ) -> Iterator[Self]:
        """Run the fake on its own event loop in a background thread."""
        fake = cls(models=models, api_key=api_key, default=default)
        ready, stopping = threading.Event(), threading.Event()

        async def serve() -> None:
            try:
                async with fake:
                    ready.set()
                    await asyncio.to_thread(stopping.wait)
            finally:
                ready.set()  # also when it failed to start

        thread = threading.Thread(target=asyncio.run, args=(serve(),), daemon=True)
        thread.start()
        try:
            if not ready.wait(30.0) or fake._runner is None:
                raise RuntimeError("the fake OpenAI server did not start")
            yield fake
        finally:
            stopping.set()
            thread.join(30.0)

    # -- hooks for fakes of other APIs (they subclass this one) ------------------------------

    def _routes(self, router: web.UrlDispatcher) -> None:
        """The API's routes."""
        router.add_post("/v1/chat/completions", self._chat)
        router.add_get("/v1/models", self._models)
        from support import fake_embeddings, fake_responses  # they import this module

        router.add_post("/v1/embeddings", fake_embeddings.openai_embeddings)
        fake_responses.add_route(self, router)

    def _refuse(self, record: RecordedRequest) -> web.StreamResponse | None:
        """An answer that refuses the request before its route runs (wrong key, …), or None."""
        if self.api_key is not None and record.headers.get("authorization") != (
            f"Bearer {self.api_key}"
        ):
            return _status(Status(401))
        return None

    def _not_found(self, request: web.Request) -> web.StreamResponse:
        """The API's answer to an unknown path or method."""
        message = f"Invalid URL ({request.method} {request.path})"
        return _status(Status(404, body=error_body(message)))

    @web.middleware
    async def _middleware(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        raw = await request.read()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        headers = {k.lower(): v for k, v in request.headers.items()}
        record = RecordedRequest(
            request.method, request.path, dict(request.query), headers, body, raw
        )
        request[_RECORD] = record
        self.requests.append(record)
        self.received.increment()
        refusal = self._refuse(record)
        if refusal is not None:
            return refusal
        if request.method == "POST" and self._queue and isinstance(self._queue[0], Fault):
            fault = self._queue.popleft()
            assert isinstance(fault, Fault)
            try:
                return await play(request, fault, self._idle)
            except (asyncio.CancelledError, ConnectionResetError):
                self._client_gone()
                raise
        try:
            return await handler(request)
        except (web.HTTPNotFound, web.HTTPMethodNotAllowed):
            return self._not_found(request)

    async def _models(self, request: web.Request) -> web.Response:
        model = {"object": "model", "created": 1700000000, "owned_by": "fake-openai"}
        return _json({"object": "list", "data": [{"id": m, **model} for m in self.models]})

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        body = request[_RECORD].body
        if not isinstance(body, dict):
            return _status(Status(400, body=error_body("We could not parse the JSON body.")))
        options = body.get("stream_options") or {}
        call = _Call(
            id=f"chatcmpl-fake{next(self._ids)}",
            model=str(body.get("model") or self.models[0]),
            stream=bool(body.get("stream")),
            include_usage=bool(body.get("stream") and options.get("include_usage")),
        )
        behaviour = self._queue.popleft() if self._queue else self.default
        try:
            return await self._respond(request, behaviour, call)
        except asyncio.CancelledError:
            self._client_gone()  # the client disconnected (see handler_cancellation)
            raise
        except ConnectionResetError:
            self._client_gone()
            return web.Response()  # not sent: the connection is gone

    def _client_gone(self) -> None:
        if not self._closing.is_set():
            self.disconnects.increment()

    async def _idle(self, seconds: float) -> bool:
        """Wait until the fake stops (then True) or ``seconds`` pass; a disconnect cancels the
        handler."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._closing.wait()
        return self._closing.is_set()

    async def _play_shared(
        self, request: web.Request, behaviour: Any, content_type: str = _SSE_HEADERS["content-type"]
    ) -> web.StreamResponse | None:
        """The behaviours that are the same bytes on every API, played by `support.faults`:
        ``Stall("headers")`` and ``Trickle``; None for the others."""
        if isinstance(behaviour, Stall) and behaviour.phase == "headers":
            return await play(request, StallHeaders(behaviour.max_seconds), self._idle)
        if isinstance(behaviour, Trickle):
            drip = Drip(behaviour.interval, behaviour.payload, content_type, behaviour.max_seconds)
            return await play(request, drip, self._idle)
        return None

    async def _truncated(self, request: web.Request, body: object) -> web.StreamResponse:
        """A non-streamed answer cut halfway under its full Content-Length (``CutStream``)."""
        return await play(request, Truncated(_dumps(body)), self._idle)

    async def _respond(
        self, request: web.Request, behaviour: Behaviour, call: _Call
    ) -> web.StreamResponse:
        if isinstance(behaviour, Status):
            return _status(behaviour)
        shared = await self._play_shared(request, behaviour)
        if shared is not None:
            return shared
        if isinstance(behaviour, Many | Reply):
            reply = behaviour.reply() if isinstance(behaviour, Many) else behaviour
            if not call.stream:
                return _json(call.completion(reply))
            response = await _open_stream(request)
            for event in itertools.chain(*call.events(reply)):
                await response.write(event)
            return response
        if isinstance(behaviour, CutStream) and not call.stream:
            return await self._truncated(request, call.completion(behaviour.reply))
        response = await _open_stream(request)
        for event in call.events(behaviour.reply)[0][: behaviour.chunks]:
            await response.write(event)
        if isinstance(behaviour, StreamThenError):
            await response.write(_sse({"error": behaviour.error}))
            return response
        if isinstance(behaviour, Stall):
            await self._idle(behaviour.max_seconds)
        return _drop(request)
