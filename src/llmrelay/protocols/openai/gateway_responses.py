"""OpenAI's Responses API, the gateway direction (pure, no I/O): the `/v1/responses` request
checked, earlier turns expanded into the input, and events written as OpenAI's SSE.

- `parse_responses` checks the body: `model`, `input` (a string or input items), `stream`, the
  `provider` extension, and OpenAI's Responses fields (`OPENAI_FIELDS`). Other fields are
  refused by name, those that would redirect traffic or credentials as on chat.
- `conversation(previous, input)` is the input of a turn whose `previous_response_id` the
  gateway answers itself: the earlier turn's input and output items, then the new input.
- `EventEncoder` writes each event as ``event: <type>`` + ``data: <json>``, as OpenAI sends
  them, remembers the last sequence number and the final response (to keep and to bill), and
  writes the `error` event that ends a stream cut after its first event.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from ...transport.sse_encode import encode_event
from ..fields import FieldError, is_int, is_number, load_object, provider_field, stream_field, take
from .responses_chat import OPENAI_FIELDS

__all__ = [
    "EventEncoder",
    "ResponsesRequest",
    "conversation",
    "input_items",
    "parse_responses",
]

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_TEXT = lambda v: isinstance(v, str)  # noqa: E731
_BOOL = lambda v: isinstance(v, bool)  # noqa: E731
_OBJECT = lambda v: isinstance(v, Mapping)  # noqa: E731
_LIST = lambda v: isinstance(v, list)  # noqa: E731

#: OpenAI's Responses fields, with the check their value must pass.
KNOWN: dict[str, Any] = {
    "instructions": _TEXT, "tools": _LIST, "tool_choice": lambda v: isinstance(v, str | Mapping),
    "temperature": is_number, "top_p": is_number, "max_output_tokens": is_int,
    "previous_response_id": _TEXT, "parallel_tool_calls": _BOOL, "store": _BOOL,
    "metadata": _OBJECT, "user": _TEXT, "reasoning": _OBJECT, "text": _OBJECT,
    "truncation": _TEXT, "include": _LIST, "service_tier": _TEXT,
}  # fmt: skip
assert set(KNOWN) == OPENAI_FIELDS
#: Terminal events whose response is a finished turn (kept for `previous_response_id`).
FINISHED = frozenset({"response.completed", "response.incomplete"})


@dataclass(slots=True)
class ResponsesRequest:
    """A checked request: what `response_events` takes."""

    model: str
    input: str | list[Any]
    stream: bool = False
    provider: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)  # OpenAI's Responses fields
    params: dict[str, Any] = field(default_factory=dict)  # operator-allowed provider fields


def parse_responses(raw: bytes, allowed: Collection[str] = ()) -> ResponsesRequest:
    """Check a Responses request body (`FieldError` names what is wrong)."""
    body = load_object(raw)
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise FieldError("model", "model: required, a non-empty string")
    input = body.get("input")
    if not (isinstance(input, str) or (isinstance(input, list) and input)):
        raise FieldError("input", "input: required, a string or a non-empty list of items")
    if isinstance(input, list) and not all(isinstance(item, Mapping) for item in input):
        raise FieldError("input", "input: every item must be an object")
    stream = stream_field(body)
    provider = provider_field(body)
    rest = {k: v for k, v in body.items() if k not in ("model", "input", "stream", "provider")}
    taken = take(rest, KNOWN, (), allowed)
    fields = {k: v for k, v in taken.items() if k in KNOWN}
    params = {k: v for k, v in taken.items() if k not in KNOWN}
    return ResponsesRequest(model, input, bool(stream), provider, fields, params)


def input_items(input: str | list[Any]) -> list[Any]:
    """The input as a list of items (a string is one user message)."""
    if isinstance(input, str):
        return [{"type": "message", "role": "user", "content": input}]
    return list(input)


def conversation(previous: list[Any], input: str | list[Any]) -> list[Any]:
    """The items of the earlier turn (its input, then its output), then the new input."""
    return [*previous, *input_items(input)]


class EventEncoder:
    """Event dicts as OpenAI's SSE bytes; `final` is the finished response, if one came."""

    __slots__ = ("final", "sequence")

    def __init__(self) -> None:
        self.sequence = -1
        self.final: dict[str, Any] | None = None

    def encode(self, event: Mapping[str, Any]) -> bytes:
        kind = str(event.get("type"))
        number = event.get("sequence_number")
        self.sequence = number if isinstance(number, int) else self.sequence + 1
        if kind in FINISHED and isinstance(event.get("response"), dict):
            self.final = event["response"]
        return encode_event(_dumps(event), kind)

    def error(self, message: str, code: str | None = None) -> bytes:
        """The `error` event that ends a stream which failed after its first event."""
        self.sequence += 1
        event = {"type": "error", "sequence_number": self.sequence, "code": code,
                 "message": message, "param": None}  # fmt: skip
        return encode_event(_dumps(event), "error")
