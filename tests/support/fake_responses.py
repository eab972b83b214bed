"""The fake OpenAI server's ``POST /v1/responses``: OpenAI's Responses API, plain and streamed.

Each request takes the next scripted behaviour (``Reply``: content and tool calls; ``Status``:
an error) as the chat route does. The answer is a ``Response`` object (``output``: a
``message`` item with one ``output_text`` part if the reply has content, then one
``function_call`` item per tool call; ``usage`` in input/output tokens), or with ``stream`` the
documented SSE events (``event: <type>`` lines, each with its ``sequence_number``):
``response.created``, ``response.in_progress``, per item ``response.output_item.added``, its
parts and deltas (``response.output_text.delta`` per word, ``response.function_call_arguments
.delta``), ``….done`` events, then ``response.completed``. ``StreamThenError`` sends the first
events, then an ``error`` event.

Responses are stored when ``store`` is not false. ``previous_response_id`` must name a stored
one (else 400 ``previous_response_not_found``), and every ``function_call_output`` in the input
must answer a ``function_call`` of the previous responses or of the input (else 400 "No tool
call found for function call output with call_id …"), as the real API checks.
"""

from __future__ import annotations

import itertools
import json
import time
from typing import Any

from aiohttp import web

from support.fake_openai import (
    _RECORD,
    FakeOpenAI,
    Reply,
    Status,
    StreamThenError,
    ToolCall,
    _json,
    _open_stream,
    _pieces,
    _status,
    error_body,
)

#: A Responses function tool, and the call of it that tests script.
WEATHER = {"type": "function", "name": "get_weather", "description": "Weather of a city",
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                          "required": ["city"]}}  # fmt: skip
WEATHER_CALL = ToolCall("get_weather", '{"city": "Paris"}', id="call_paris")


def _items(reply: Reply, ids: itertools.count[int]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    if reply.content is not None:
        part = {"type": "output_text", "text": reply.content, "annotations": [], "logprobs": []}
        items.append({"id": f"msg_fake{next(ids)}", "type": "message", "status": "completed",
                      "role": "assistant", "content": [part]})  # fmt: skip
    for i, call in enumerate(reply.tool_calls):
        items.append({"id": f"fc_fake{next(ids)}", "type": "function_call",
                      "status": "completed", "call_id": call.id or f"call_{i}",
                      "name": call.name, "arguments": call.arguments})  # fmt: skip
    return items


def _response(body: dict[str, Any], rid: str, output: list[dict[str, Any]],
              status: str) -> dict[str, Any]:  # fmt: skip
    words = sum(len(i["content"][0]["text"].split()) for i in output if i["type"] == "message")
    cached = {"cached_tokens": 0, "cache_write_tokens": 0}
    usage = {"input_tokens": 10, "input_tokens_details": cached,
             "output_tokens": words, "output_tokens_details": {"reasoning_tokens": 0},
             "total_tokens": 10 + words}  # fmt: skip
    return {
        "id": rid, "object": "response", "created_at": int(time.time()), "status": status,
        "error": None, "incomplete_details": None, "instructions": body.get("instructions"),
        "max_output_tokens": body.get("max_output_tokens"), "model": body.get("model"),
        "output": output, "parallel_tool_calls": True,
        "previous_response_id": body.get("previous_response_id"), "reasoning":
        {"effort": None, "summary": None},
        "temperature": body.get("temperature", 1.0), "text": {"format": {"type": "text"}},
        "tool_choice": body.get("tool_choice", "auto"), "tools": body.get("tools", []),
        "top_p": 1.0, "truncation": "disabled",
        "usage": usage if status == "completed" else None, "user": None, "metadata": {},
    }  # fmt: skip


def _events(body: dict[str, Any], rid: str, output: list[dict[str, Any]]) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    pending = _response(body, rid, [], "in_progress")
    events += [{"type": "response.created", "response": pending},
               {"type": "response.in_progress", "response": pending}]  # fmt: skip
    for index, item in enumerate(output):
        where = {"item_id": item["id"], "output_index": index}
        if item["type"] == "message":
            part = item["content"][0]
            events.append({"type": "response.output_item.added", "output_index": index,
                           "item": {**item, "status": "in_progress", "content": []}})  # fmt: skip
            events.append({"type": "response.content_part.added", **where, "content_index": 0,
                           "part": {**part, "text": ""}})  # fmt: skip
            for piece in _pieces(part["text"], None):
                events.append({"type": "response.output_text.delta", **where,
                               "content_index": 0, "delta": piece, "logprobs": []})  # fmt: skip
            events.append({"type": "response.output_text.done", **where, "content_index": 0,
                           "text": part["text"], "logprobs": []})  # fmt: skip
            events.append({"type": "response.content_part.done", **where, "content_index": 0,
                           "part": part})  # fmt: skip
        else:
            events.append({"type": "response.output_item.added", "output_index": index,
                           "item": {**item, "status": "in_progress", "arguments": ""}})  # fmt: skip
            for piece in _pieces(item["arguments"], 4):
                events.append({"type": "response.function_call_arguments.delta", **where,
                               "delta": piece})  # fmt: skip
            events.append({"type": "response.function_call_arguments.done", **where,
                           "name": item["name"], "arguments": item["arguments"]})  # fmt: skip
        events.append({"type": "response.output_item.done", "output_index": index, "item": item})
    events.append({"type": "response.completed",
                   "response": _response(body, rid, output, "completed")})  # fmt: skip
    return [{**event, "sequence_number": n} for n, event in enumerate(events)]


def _sse(event: dict[str, Any]) -> bytes:
    return f"event: {event['type']}\ndata: {json.dumps(event)}\n\n".encode()


def _bad(message: str, param: str | None = None, code: str | None = None) -> web.Response:
    return _json(error_body(message, param=param, code=code), 400)


def add_route(fake: FakeOpenAI, router: web.UrlDispatcher) -> None:
    """``POST /v1/responses`` on `fake`, with its own store of responses."""
    store: dict[str, tuple[str | None, list[dict[str, Any]]]] = {}  # id → (previous, output)
    ids = itertools.count()

    def known_calls(previous: str | None) -> set[str]:
        calls: set[str] = set()
        while previous is not None:
            previous, output = store[previous]
            calls |= {i["call_id"] for i in output if i["type"] == "function_call"}
        return calls

    async def handle(request: web.Request) -> web.StreamResponse:
        body = request[_RECORD].body
        if not isinstance(body, dict) or "model" not in body or "input" not in body:
            return _bad("Missing required parameter: 'model' or 'input'.")
        previous = body.get("previous_response_id")
        if previous is not None and previous not in store:
            return _bad(f"Previous response with id '{previous}' not found.",
                        "previous_response_id", "previous_response_not_found")  # fmt: skip
        items = body["input"] if isinstance(body["input"], list) else []
        calls = known_calls(previous) | {
            i.get("call_id") for i in items if i.get("type") == "function_call"
        }
        for item in items:
            if item.get("type") == "function_call_output" and item.get("call_id") not in calls:
                return _bad("No tool call found for function call output with call_id "
                            f"{item.get('call_id')}.", "input")  # fmt: skip
        behaviour = fake._queue.popleft() if fake._queue else fake.default
        if isinstance(behaviour, Status):
            return _status(behaviour)
        reply = behaviour.reply if isinstance(behaviour, StreamThenError) else behaviour
        if not isinstance(reply, Reply):
            raise TypeError(f"/v1/responses cannot play {behaviour!r}")
        rid = f"resp_fake{next(ids)}"
        output = _items(reply, ids)
        if body.get("store", True):
            store[rid] = (previous, output)
        if not body.get("stream"):
            return _json(_response(body, rid, output, "completed"))
        response = await _open_stream(request)
        events = _events(body, rid, output)
        if isinstance(behaviour, StreamThenError):
            events = events[: behaviour.chunks]
            error = {"type": "error", "sequence_number": len(events), "code": "server_error",
                     "message": behaviour.error.get("message", "error"), "param": None}  # fmt: skip
            events.append(error)
        for event in events:
            await response.write(_sse(event))
        return response

    router.add_post("/v1/responses", handle)
