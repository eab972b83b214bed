"""Anthropic Messages, the gateway direction: our answers as a `message` object and as the
API's stream events (the reverse of `upstream_response`).

`message_body` renders a client `ChatCompletion`; `EventEncoder` turns client
`ChatCompletionChunk`s into every event type the API streams: `message_start`, `ping`,
`content_block_start` / `content_block_delta` (`text_delta`, `thinking_delta`,
`signature_delta`, `input_json_delta`) / `content_block_stop`, `message_delta` with the
`stop_reason` and usage, `message_stop`; a failure after the first event is an `error` event.
Finish reasons go back to Anthropic's words (`stop` → `end_turn`, `length` → `max_tokens`,
`tool_calls` → `tool_use`, `content_filter` → `refusal`).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from ...transport.sse_encode import encode_event

if TYPE_CHECKING:  # the client's response objects, read by attribute
    from ...client.types import ChatCompletion, ChatCompletionChunk, CompletionUsage

__all__ = ["STOP_REASONS", "EventEncoder", "error_body", "error_event", "message_body"]

STOP_REASONS = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "content_filter": "refusal",
}
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _message_id(completion_id: str) -> str:
    return "msg_" + completion_id.removeprefix("chatcmpl-")


def usage_body(usage: CompletionUsage | None) -> dict[str, Any]:
    """Our usage in Anthropic's terms: `input_tokens` excludes cached ones."""
    if usage is None:
        return {"input_tokens": 0, "output_tokens": 0}
    cached = int((usage.prompt_tokens_details or {}).get("cached_tokens") or 0)
    return {
        "input_tokens": max(usage.prompt_tokens - cached, 0),
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": cached,
        "output_tokens": usage.completion_tokens,
    }


def _input(arguments: str) -> Any:
    try:
        value = json.loads(arguments or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def message_body(completion: ChatCompletion) -> dict[str, Any]:
    """A `message` object, as the API answers a non-streamed request."""
    choice = completion.choices[0]
    message = choice.message
    content: list[dict[str, Any]] = []
    if message.reasoning_content:
        content.append({"type": "thinking", "thinking": message.reasoning_content, "signature": ""})
    if message.content:
        content.append({"type": "text", "text": message.content})
    for call in message.tool_calls or ():
        content.append(
            {
                "type": "tool_use",
                "id": call.id,
                "name": call.function.name,
                "input": _input(call.function.arguments),
            }
        )
    reason = choice.finish_reason or "stop"
    return {
        "id": _message_id(completion.id),
        "type": "message",
        "role": "assistant",
        "model": completion.model,
        "content": content,
        "stop_reason": STOP_REASONS.get(reason, "end_turn"),
        "stop_sequence": None,
        "usage": usage_body(completion.usage),
    }


def _event(kind: str, data: dict[str, Any]) -> bytes:
    return encode_event(_dumps({"type": kind, **data}), kind)


class EventEncoder:
    """Client `ChatCompletionChunk`s as Anthropic stream events (bytes, b"" for none).

    A block opens when a different kind of content starts (text, thinking, each tool call)
    and closes before the next one opens or when the answer finishes."""

    __slots__ = ("_block", "_index", "_signature", "_started")

    def __init__(self) -> None:
        self._index = -1
        self._block: str | None = None  # type of the open block
        self._started = False
        self._signature: str | None = None

    def _start(self, chunk: ChatCompletionChunk) -> bytes:
        self._started = True
        message: dict[str, Any] = {
            "id": _message_id(chunk.id),
            "type": "message",
            "role": "assistant",
            "model": chunk.model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": 0, "output_tokens": 0},
        }
        return _event("message_start", {"message": message}) + _event("ping", {})

    def _close(self) -> bytes:
        if self._block is None:
            return b""
        out = b""
        if self._block == "thinking" and self._signature:
            delta = {"type": "signature_delta", "signature": self._signature}
            out = _event("content_block_delta", {"index": self._index, "delta": delta})
        self._block, self._signature = None, None
        return out + _event("content_block_stop", {"index": self._index})

    def _open(self, kind: str, block: dict[str, Any]) -> bytes:
        out = self._close()
        self._index += 1
        self._block = kind
        return out + _event("content_block_start", {"index": self._index, "content_block": block})

    def _delta(self, delta: dict[str, Any]) -> bytes:
        return _event("content_block_delta", {"index": self._index, "delta": delta})

    def signature(self, signature: str) -> None:
        """The signature of the thinking block being streamed (sent when it closes)."""
        self._signature = signature

    def encode(self, chunk: ChatCompletionChunk) -> bytes:
        out = b"" if self._started else self._start(chunk)
        if not chunk.choices:
            return out
        choice = chunk.choices[0]
        delta = choice.delta
        if delta.reasoning_content:
            if self._block != "thinking":
                out += self._open("thinking", {"type": "thinking", "thinking": "", "signature": ""})
            out += self._delta({"type": "thinking_delta", "thinking": delta.reasoning_content})
        if delta.content:
            if self._block != "text":
                out += self._open("text", {"type": "text", "text": ""})
            out += self._delta({"type": "text_delta", "text": delta.content})
        for call in delta.tool_calls or ():
            function = call.function
            name = function.name if function else ""
            out += self._open(
                "tool_use", {"type": "tool_use", "id": call.id or "", "name": name, "input": {}}
            )
            arguments = function.arguments if function else ""
            if arguments:
                out += self._delta({"type": "input_json_delta", "partial_json": arguments})
        if choice.finish_reason is not None:
            out += self._close()
            reason = STOP_REASONS.get(choice.finish_reason, "end_turn")
            data = {
                "delta": {"stop_reason": reason, "stop_sequence": None},
                "usage": usage_body(chunk.usage),
            }
            out += _event("message_delta", data) + _event("message_stop", {})
        return out


def error_body(message: str, kind: str = "invalid_request_error") -> dict[str, Any]:
    """Anthropic's error body: `{"type": "error", "error": {"type", "message"}}`."""
    return {"type": "error", "error": {"type": kind, "message": message}}


def error_event(message: str, kind: str = "api_error") -> bytes:
    """The `error` event that ends a stream which failed after its first event."""
    return _event("error", {"error": {"type": kind, "message": message}})
