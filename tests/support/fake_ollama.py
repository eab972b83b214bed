"""A local fake of Ollama's native API, for tests: normal answers and faults.

``async with FakeOllama() as fake:`` serves ``fake.base_url`` (``http://127.0.0.1:PORT``, no path:
clients add ``/api/chat``, as the official SDK does). Routes: ``POST /api/chat``, ``GET /api/tags``
(``fake.models``), ``GET /api/version`` and ``GET /`` ("Ollama is running"); other paths get the
server's plain-text ``404 page not found``. It takes the behaviours of `support.fake_openai`
through ``fake.script(...)`` (else ``fake.default``) and renders them as Ollama does; requests are
recorded in ``fake.requests`` as there.

- ``Reply``: streamed (the default: Ollama streams unless the body says ``"stream": false``) as
  NDJSON objects ``{"model", "created_at", "message": {...}, "done": false}``: one per reasoning
  piece (``message.thinking``), per content piece, per tool call (``message.tool_calls`` with
  ``arguments`` an object, and ``id`` only when the ``ToolCall`` has one), then the final object
  ``"done": true`` with ``done_reason`` and the metrics. Not streamed: one object with the whole
  message. ``finish_reason`` in OpenAI's words becomes the ``done_reason`` (``tool_calls`` is
  ``stop``, as Ollama says); usage: ``prompt_tokens`` → ``prompt_eval_count``,
  ``completion_tokens`` → ``eval_count``, by default ``PROMPT_TOKENS`` and one per piece
  (``usage=False`` leaves both counts out).
- ``Status(code)``: Ollama's error body ``{"error": "..."}`` (404: ``model '<model>' not found``);
  a string body is sent as plain text.
- ``StreamThenError(chunks, error)``: the first ``chunks`` objects, then
  ``{"error": error["message"]}`` on its own line, as Ollama reports a failure mid-stream.
- ``CutStream(chunks)``: the first ``chunks`` objects, then the connection closes (no object with
  ``done: true``); not streamed: half the JSON body under a full Content-Length.
- ``Stall`` and ``Trickle`` as in `support.fake_openai`.
- ``Lines(objects)``: exactly these JSON values as an NDJSON body that ends cleanly (for shapes
  the other behaviours never send: a stream without its ``done`` object, a line that is not an
  object, …).

If ``api_key`` is set, requests without ``Authorization: Bearer <key>`` get 401 ``unauthorized``
(as Ollama's cloud answers).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from support import fake_embeddings
from support.fake_openai import (
    _RECORD,
    PROMPT_TOKENS,
    Behaviour,
    CutStream,
    FakeOpenAI,
    Many,
    RecordedRequest,
    Reply,
    Stall,
    Status,
    StreamThenError,
    _drop,
    _dumps,
    _pieces,
)

VERSION = "0.12.6"
CREATED_AT = "2025-01-01T12:00:00.123456789Z"
NDJSON = "application/x-ndjson"
_ERRORS = {400: "invalid request", 401: "unauthorized", 403: "forbidden",
           429: "too many requests", 500: "internal server error",
           503: "server busy, please try again.  maximum pending requests exceeded"}  # fmt: skip
_DONE_REASONS = {"stop": "stop", "length": "length", "tool_calls": "stop"}
#: Fixed durations (nanoseconds) of the final object's metrics.
_DURATIONS = {"total_duration": 5_000_000, "load_duration": 1_000_000,
              "prompt_eval_duration": 1_000_000, "eval_duration": 3_000_000}  # fmt: skip
TAG_DETAILS = {"parent_model": "", "format": "gguf", "family": "llama", "families": ["llama"],
               "parameter_size": "3.2B", "quantization_level": "Q4_K_M"}  # fmt: skip


@dataclass(frozen=True)
class Lines:
    objects: Sequence[Any]


def _line(obj: object) -> bytes:
    return _dumps(obj) + b"\n"


def _json(obj: object, status: int = 200) -> web.Response:
    headers = {"content-type": "application/json; charset=utf-8"}
    return web.Response(status=status, body=_dumps(obj), headers=headers)


def _status(status: Status, model: str = "") -> web.Response:
    if isinstance(status.body, str):
        headers = {"content-type": "text/plain; charset=utf-8", **status.headers}
        return web.Response(status=status.code, body=status.body.encode(), headers=headers)
    body = status.body
    if body is None:
        message = f"model '{model}' not found" if status.code == 404 else None
        body = {"error": message or _ERRORS.get(status.code, f"HTTP {status.code}")}
    headers = {"content-type": "application/json; charset=utf-8", **status.headers}
    return web.Response(status=status.code, body=_dumps(body), headers=headers)


@dataclass(frozen=True)
class _Call:
    model: str
    stream: bool

    def object(self, message: dict[str, Any], **final: Any) -> dict[str, Any]:
        head = {"model": self.model, "created_at": CREATED_AT}
        return {**head, "message": {"role": "assistant", **message}, "done": False, **final}

    def messages(self, reply: Reply) -> list[dict[str, Any]]:
        """The streamed messages: reasoning pieces, content pieces, one per tool call."""
        out: list[dict[str, Any]] = [
            {"content": "", "thinking": piece}
            for piece in _pieces(reply.reasoning or "", reply.chunk_size)
        ]
        out += [{"content": piece} for piece in _pieces(reply.content or "", reply.chunk_size)]
        for i, call in enumerate(reply.tool_calls):
            function = {"index": i, "name": call.name, "arguments": json.loads(call.arguments)}
            wire = {"id": call.id, "function": function} if call.id else {"function": function}
            out.append({"content": "", "tool_calls": [wire]})
        return out

    def final(self, reply: Reply, pieces: int) -> dict[str, Any]:
        """The fields of the object with ``done: true``."""
        finish = reply.finish_reason or ("tool_calls" if reply.tool_calls else "stop")
        fields: dict[str, Any] = {"done": True, "done_reason": _DONE_REASONS.get(finish, finish)}
        fields |= _DURATIONS
        if reply.usage is True:
            fields |= {"prompt_eval_count": PROMPT_TOKENS, "eval_count": pieces}
        elif reply.usage is not False:
            fields |= {"prompt_eval_count": reply.usage.prompt_tokens,
                       "eval_count": reply.usage.completion_tokens}  # fmt: skip
        return fields

    def lines(self, reply: Reply) -> tuple[list[bytes], bytes]:
        """(the objects before the last, the last one with ``done: true``)."""
        messages = self.messages(reply)
        head = [_line(self.object(m)) for m in messages]
        return head, _line(self.object({"content": ""}, **self.final(reply, len(messages))))

    def whole(self, reply: Reply) -> dict[str, Any]:
        messages = self.messages(reply)
        message: dict[str, Any] = {"content": reply.content or ""}
        if reply.reasoning is not None:
            message["thinking"] = reply.reasoning
        calls = [call for m in messages for call in m.get("tool_calls", ())]
        if calls:
            message["tool_calls"] = calls
        return self.object(message, **self.final(reply, len(messages)))


class FakeOllama(FakeOpenAI):
    """The fake server; see the module docstring."""

    def __init__(
        self,
        *,
        models: Sequence[str] = ("llama3.2:latest",),
        api_key: str | None = None,
        default: Behaviour | Lines | None = None,
    ) -> None:
        super().__init__(models=models, api_key=api_key, default=default)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    def _routes(self, router: web.UrlDispatcher) -> None:
        router.add_post("/api/chat", self._chat)
        router.add_get("/api/tags", self._tags)
        router.add_post("/api/embed", fake_embeddings.ollama_embed)
        router.add_get("/api/version", self._version)
        router.add_get("/", self._root)

    def _refuse(self, record: RecordedRequest) -> web.StreamResponse | None:
        if self.api_key is not None and record.headers.get("authorization") != (
            f"Bearer {self.api_key}"
        ):
            return _status(Status(401))  # in Ollama's own error shape
        return None

    def _not_found(self, request: web.Request) -> web.StreamResponse:
        return _status(Status(404, body="404 page not found"))

    async def _root(self, request: web.Request) -> web.Response:
        return web.Response(text="Ollama is running")

    async def _version(self, request: web.Request) -> web.Response:
        return _json({"version": VERSION})

    async def _tags(self, request: web.Request) -> web.Response:
        models = [
            {"name": m, "model": m, "modified_at": "2025-01-01T12:00:00Z", "size": 2019393189,
             "digest": f"{i:064x}", "details": TAG_DETAILS}
            for i, m in enumerate(self.models)
        ]  # fmt: skip
        return _json({"models": models})

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        body = request[_RECORD].body
        if not isinstance(body, dict):
            return _status(Status(400, body={"error": "invalid character in JSON body"}))
        if not body.get("model"):
            return _status(Status(400, body={"error": "model is required"}))
        call = _Call(model=str(body["model"]), stream=body.get("stream", True) is not False)
        behaviour = self._queue.popleft() if self._queue else self.default
        try:
            return await self._answer(request, behaviour, call)
        except asyncio.CancelledError:
            self._client_gone()
            raise
        except ConnectionResetError:
            self._client_gone()
            return web.Response()

    async def _open(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"content-type": NDJSON})
        await response.prepare(request)
        return response

    async def _answer(
        self, request: web.Request, behaviour: Any, call: _Call
    ) -> web.StreamResponse:
        if isinstance(behaviour, Status):
            return _status(behaviour, call.model)
        shared = await self._play_shared(request, behaviour, NDJSON)
        if shared is not None:
            return shared
        if isinstance(behaviour, Many):
            behaviour = behaviour.reply()
        if isinstance(behaviour, Lines):
            response = await self._open(request)
            for obj in behaviour.objects:
                await response.write(_line(obj))
            return response
        if isinstance(behaviour, Reply):
            if not call.stream:
                return _json(call.whole(behaviour))
            head, last = call.lines(behaviour)
            response = await self._open(request)
            for line in [*head, last]:
                await response.write(line)
            return response
        if not isinstance(behaviour, CutStream | StreamThenError | Stall):
            raise TypeError(f"FakeOllama cannot play {behaviour!r}")
        if isinstance(behaviour, CutStream) and not call.stream:
            return await self._truncated(request, call.whole(behaviour.reply))
        response = await self._open(request)
        for line in call.lines(behaviour.reply)[0][: behaviour.chunks]:
            await response.write(line)
        if isinstance(behaviour, StreamThenError):
            message = behaviour.error.get("message") or "internal server error"
            await response.write(_line({"error": message}))
            return response
        if isinstance(behaviour, Stall):
            await self._idle(behaviour.max_seconds)
        return _drop(request)
