"""A local fake of the Anthropic Messages API, for tests: normal answers and faults.

``async with FakeAnthropic() as fake:`` serves ``fake.base_url`` (``http://127.0.0.1:PORT``, no
``/v1``: the client adds ``/v1/messages``, as the official SDK does). It takes the behaviours of
`support.fake_openai` through ``fake.script(...)`` (else ``fake.default``) and renders them in
Anthropic's format; requests are recorded in ``fake.requests`` as there.

- ``Reply``: content blocks in the order thinking (``reasoning``, with a fake signature), text,
  ``tool_use`` (``input`` parsed from the call's arguments); ``finish_reason`` in OpenAI's words
  becomes the ``stop_reason`` (``stop`` → ``end_turn``, ``length`` → ``max_tokens``,
  ``tool_calls`` → ``tool_use``, ``content_filter`` → ``refusal``; others pass as given).
  Usage: ``prompt_tokens`` → ``input_tokens``, ``completion_tokens`` → ``output_tokens``; by
  default ``PROMPT_TOKENS`` and one output token per streamed delta event (Anthropic always
  reports usage, so ``usage=False`` gives the default too).
- ``Message(content, stop_reason, usage)``: Anthropic's own blocks as the non-streamed message
  holds them (``server_tool_use``, ``web_search_tool_result``, text with ``citations``, …) and a
  raw usage object; streamed, each block is split into the events the API sends for it (a tool's
  ``input`` as ``json.dumps`` of it in ``input_json_delta`` pieces).
- ``Status(code)``: Anthropic's error body ``{"type": "error", "error": {"type", "message"}}``
  with the type for that status (529 ``overloaded_error``, …) unless a body is given.
- ``StreamThenError(chunks, error)``: the first ``chunks`` events, then ``event: error``;
  ``error["type"]`` is kept if Anthropic has it, else it becomes ``api_error``.
- ``CutStream(chunks)``: the first ``chunks`` events, then the connection closes (no
  ``message_stop``); non-streaming: half the JSON body under a full Content-Length.
- ``Stall`` and ``Trickle`` as in `support.fake_openai`.

A stream is ``message_start``, then per block ``content_block_start``, its deltas and
``content_block_stop`` (a ``ping`` after the first start), then ``message_delta`` and
``message_stop``; the "chunks" of a fault count events from the start, before ``message_delta``.
Requests need ``anthropic-version``, ``max_tokens`` and, if ``api_key`` is set, that key in
``x-api-key`` (or, as the SDK 2.x sends it, ``Authorization: Bearer``; ``x-api-key`` wins when
both are there); otherwise they get the API's 400 or 401.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aiohttp import web

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
    _json,
    _open_stream,
    _pieces,
)

SIGNATURE = "ZmFrZS1zaWduYXR1cmU="  # the signature of every thinking block the fake sends
_ERRORS: dict[int, tuple[str, str]] = {  # status -> default (type, message)
    400: ("invalid_request_error", "Invalid request."),
    401: ("authentication_error", "invalid x-api-key"),
    402: ("billing_error", "Your credit balance is too low to access the Anthropic API."),
    403: ("permission_error", "Your API key does not have permission to use this resource."),
    404: ("not_found_error", "Not found"),
    413: ("request_too_large", "Request exceeds the maximum allowed number of bytes."),
    429: ("rate_limit_error", "Number of requests has exceeded your per-minute rate limit."),
    500: ("api_error", "Internal server error"),
    504: ("timeout_error", "Request timed out"),
    529: ("overloaded_error", "Overloaded"),
}
_ERROR_TYPES = frozenset(kind for kind, _ in _ERRORS.values())
_STOP_REASONS = {
    "stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use",
    "content_filter": "refusal",
}  # fmt: skip


def error_body(kind: str, message: str) -> dict[str, Any]:
    """Anthropic's error body."""
    return {"type": "error", "error": {"type": kind, "message": message},
            "request_id": "req_fake"}  # fmt: skip


@dataclass(frozen=True)
class Message:
    """An answer given as Anthropic content blocks (see the module docstring)."""

    content: Sequence[Mapping[str, Any]] = ()
    stop_reason: str = "end_turn"
    usage: Mapping[str, Any] | None = None  # over the default: PROMPT_TOKENS, a token per delta
    chunk_size: int | None = None


def _sse(kind: str, data: Mapping[str, Any]) -> bytes:
    return b"event: " + kind.encode() + b"\ndata: " + _dumps({"type": kind, **data}) + b"\n\n"


def _message(reply: Reply | Message) -> Message:
    if isinstance(reply, Message):
        return reply
    blocks: list[dict[str, Any]] = []
    if reply.reasoning is not None:
        blocks.append({"type": "thinking", "thinking": reply.reasoning, "signature": SIGNATURE})
    if reply.content:
        blocks.append({"type": "text", "text": reply.content})
    for i, call in enumerate(reply.tool_calls):
        blocks.append({"type": "tool_use", "id": call.id or f"toolu_fake{i}", "name": call.name,
                       "input": json.loads(call.arguments)})  # fmt: skip
    finish = reply.finish_reason or ("tool_calls" if reply.tool_calls else "stop")
    usage = None
    if not isinstance(reply.usage, bool):
        usage = {"input_tokens": reply.usage.prompt_tokens,
                 "output_tokens": reply.usage.completion_tokens}  # fmt: skip
    return Message(blocks, _STOP_REASONS.get(finish, finish), usage, reply.chunk_size)


def _block_events(index: int, block: Mapping[str, Any], size: int | None) -> list[bytes]:
    """The events the API streams for one content block."""
    kind, rest = block["type"], dict(block)
    deltas: list[dict[str, Any]] = []
    if kind == "text":
        text, citations = rest.pop("text"), rest.pop("citations", None)
        rest |= {"text": ""} | ({"citations": []} if citations is not None else {})
        deltas += [{"type": "citations_delta", "citation": c} for c in citations or ()]
        deltas += [{"type": "text_delta", "text": piece} for piece in _pieces(text, size)]
    elif kind == "thinking":
        thinking, signature = rest.pop("thinking"), rest.pop("signature")
        rest |= {"thinking": "", "signature": ""}
        deltas += [{"type": "thinking_delta", "thinking": p} for p in _pieces(thinking, size)]
        deltas.append({"type": "signature_delta", "signature": signature})
    elif kind in ("tool_use", "server_tool_use"):
        arguments = json.dumps(rest.pop("input"))
        rest["input"] = {}
        deltas += [{"type": "input_json_delta", "partial_json": p}
                   for p in _pieces(arguments, size)]  # fmt: skip
    events = [_sse("content_block_start", {"index": index, "content_block": rest})]
    events += [_sse("content_block_delta", {"index": index, "delta": d}) for d in deltas]
    return [*events, _sse("content_block_stop", {"index": index})]


@dataclass(frozen=True)
class _Call:
    id: str
    model: str
    stream: bool

    def usage(self, message: Message) -> dict[str, Any]:
        """``message.usage`` over the default: a token per delta event."""
        size = message.chunk_size
        pieces = sum(len(_block_events(0, b, size)) - 2 for b in message.content)
        usage = {"input_tokens": PROMPT_TOKENS, "output_tokens": pieces, **(message.usage or {})}
        zero = {"cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}
        return {**zero, **usage, "service_tier": "standard"}

    def body(self, usage: dict[str, Any], content: Any) -> dict[str, Any]:
        return {"id": self.id, "type": "message", "role": "assistant", "model": self.model,
                "content": content, "stop_reason": None, "stop_sequence": None,
                "usage": usage}  # fmt: skip

    def events(self, message: Message) -> tuple[list[bytes], list[bytes]]:
        """(message_start and the block events, then message_delta and message_stop)."""
        blocks = [_block_events(i, b, message.chunk_size) for i, b in enumerate(message.content)]
        usage = self.usage(message)
        start = self.body(usage | {"output_tokens": 1}, [])
        head = [_sse("message_start", {"message": start}), *itertools.chain(*blocks)]
        if blocks:
            head.insert(2, _sse("ping", {}))
        delta = {"stop_reason": message.stop_reason, "stop_sequence": None}
        final_usage = {"output_tokens": usage["output_tokens"]}
        tail = [_sse("message_delta", {"delta": delta, "usage": final_usage})]
        return head, [*tail, _sse("message_stop", {})]

    def completion(self, message: Message) -> dict[str, Any]:
        body = self.body(self.usage(message), [dict(b) for b in message.content])
        return body | {"stop_reason": message.stop_reason}


def _status(status: Status) -> web.Response:
    headers = {"request-id": "req_fake", **status.headers}
    if isinstance(status.body, str):
        headers["content-type"] = "text/plain; charset=utf-8"
        return web.Response(status=status.code, body=status.body.encode(), headers=headers)
    kind = "api_error" if status.code >= 500 else "invalid_request_error"
    default = _ERRORS.get(status.code, (kind, f"HTTP {status.code}"))
    return _json(status.body or error_body(*default), status.code, headers)


class FakeAnthropic(FakeOpenAI):
    """The fake server; see the module docstring."""

    def __init__(
        self,
        *,
        models: Sequence[str] = ("claude-sonnet-4-5",),
        api_key: str | None = None,
        default: Behaviour | Message | None = None,
    ) -> None:
        super().__init__(models=models, api_key=api_key, default=default)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    def _routes(self, router: web.UrlDispatcher) -> None:
        router.add_post("/v1/messages", self._messages)

    def _refuse(self, record: RecordedRequest) -> web.StreamResponse | None:
        headers = record.headers
        bearer = headers.get("authorization", "").removeprefix("Bearer ")
        if self.api_key is not None and headers.get("x-api-key", bearer) != self.api_key:
            return _status(Status(401))
        if "anthropic-version" not in headers:
            message = "anthropic-version: header is required"
            return _status(Status(400, body=error_body("invalid_request_error", message)))
        return None

    def _not_found(self, request: web.Request) -> web.StreamResponse:
        return _status(Status(404))

    async def _messages(self, request: web.Request) -> web.StreamResponse:
        body = request[_RECORD].body
        problem = None if isinstance(body, dict) else "the body must be a JSON object"
        for name in ("model", "max_tokens", "messages"):
            if problem is None and name not in body:
                problem = f"{name}: Field required"
        if problem is not None:
            return _status(Status(400, body=error_body("invalid_request_error", problem)))
        call = _Call(f"msg_fake{next(self._ids)}", str(body["model"]), bool(body.get("stream")))
        behaviour = self._queue.popleft() if self._queue else self.default
        try:
            return await self._answer(request, behaviour, call)
        except asyncio.CancelledError:
            self._client_gone()
            raise
        except ConnectionResetError:
            self._client_gone()
            return web.Response()

    async def _answer(
        self, request: web.Request, behaviour: Any, call: _Call
    ) -> web.StreamResponse:
        if isinstance(behaviour, Status):
            return _status(behaviour)
        shared = await self._play_shared(request, behaviour)
        if shared is not None:
            return shared
        if isinstance(behaviour, Many):
            behaviour = behaviour.reply()
        if isinstance(behaviour, Reply | Message):
            message = _message(behaviour)
            if not call.stream:
                return _json(call.completion(message), headers={"request-id": "req_fake"})
            response = await _open_stream(request)
            for event in itertools.chain(*call.events(message)):
                await response.write(event)
            return response
        if not isinstance(behaviour, CutStream | StreamThenError | Stall):
            raise TypeError(f"FakeAnthropic cannot play {behaviour!r}")
        if isinstance(behaviour, CutStream) and not call.stream:
            return await self._truncated(request, call.completion(_message(behaviour.reply)))
        response = await _open_stream(request)
        for event in call.events(_message(behaviour.reply))[0][: behaviour.chunks]:
            await response.write(event)
        if isinstance(behaviour, StreamThenError):
            error = behaviour.error
            kind = error.get("type") if error.get("type") in _ERROR_TYPES else "api_error"
            await response.write(
                _sse("error", {"error": {"type": kind, "message": error.get("message")}})
            )
            return response
        if isinstance(behaviour, Stall):
            await self._idle(behaviour.max_seconds)
        return _drop(request)
