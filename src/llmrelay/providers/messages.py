"""Validation of chat messages, done before any I/O so a bad request costs nothing.

A message has a `role` and `content`, plus the optional keys of the spec (`name`,
`function_call`, `tool_code`, `content_type`) and of OpenAI's Chat Completions (`tool_calls`,
`tool_call_id`, `refusal`, `reasoning_content`). `content` is text, `None` (an assistant turn
that only calls tools) or a list of OpenAI content parts. An `image_url` part's URL is a
`data:` URI, a `gs://` object or an http(s) URL that passes `media_fetch.check_url`: `file:`,
`javascript:` and URLs to internal hosts never reach a provider.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import InvalidMessagesError, InvalidRequestError
from ..transport.media_fetch import check_url

ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})
MESSAGE_KEYS = frozenset(
    {
        "role",
        "content",
        "name",
        "function_call",
        "tool_code",
        "content_type",
        "tool_calls",
        "tool_call_id",
        "refusal",
        "reasoning_content",
        "reasoning",
    }
)
# Content part type → the key that must hold its payload.
PART_PAYLOAD = {
    "text": "text",
    "image_url": "image_url",
    "input_audio": "input_audio",
    "file": "file",
    "refusal": "refusal",
}

__all__ = ["MESSAGE_KEYS", "ROLES", "validate_messages"]


def _fail(where: str, problem: str) -> InvalidMessagesError:
    return InvalidMessagesError(f"{where}: {problem}")


def _type_name(value: object) -> str:
    return type(value).__name__


def _check_part(where: str, part: object) -> None:
    if not isinstance(part, Mapping):
        raise _fail(where, f"a content part must be an object, not {_type_name(part)}")
    kind = part.get("type")
    if not isinstance(kind, str) or kind not in PART_PAYLOAD:
        raise _fail(
            where, f"unknown content part type {kind!r}; expected one of {sorted(PART_PAYLOAD)}"
        )
    payload = part.get(PART_PAYLOAD[kind])
    if kind in ("text", "refusal"):
        if not isinstance(payload, str):
            raise _fail(where, f"a {kind!r} part needs a string {PART_PAYLOAD[kind]!r}")
    elif kind == "image_url":
        url = payload.get("url") if isinstance(payload, Mapping) else payload
        if not isinstance(url, str) or not url:
            raise _fail(where, "an 'image_url' part needs 'image_url': {'url': '<url>'}")
        _check_url(where, url)
    elif not isinstance(payload, Mapping):
        raise _fail(where, f"a {kind!r} part needs an object under {kind!r}")


def _check_url(where: str, url: str) -> None:
    """A `data:` URI, a `gs://` object (Gemini) or an http(s) URL that may be forwarded: never
    `file:`, `javascript:`, an internal host name or a non-public address."""
    if url[:5].lower() == "data:" or url[:5].lower() == "gs://":
        return
    try:
        check_url(url)
    except InvalidRequestError as exc:
        raise _fail(where, exc.message) from None


def _check_tool_calls(where: str, calls: object) -> None:
    if not isinstance(calls, list):
        raise _fail(where, f"'tool_calls' must be a list, not {_type_name(calls)}")
    for j, call in enumerate(calls):
        here = f"{where}.tool_calls[{j}]"
        if not isinstance(call, Mapping):
            raise _fail(here, "a tool call must be an object")
        function = call.get("function")
        if not isinstance(function, Mapping) or not isinstance(function.get("name"), str):
            raise _fail(here, "a tool call needs 'function': {'name': str, 'arguments': str}")
        if not isinstance(call.get("id"), str):
            raise _fail(here, "a tool call needs a string 'id'")


def _check_message(i: int, message: object) -> None:
    where = f"messages[{i}]"
    if not isinstance(message, Mapping):
        raise _fail(where, f"a message must be an object, not {_type_name(message)}")
    if "role" not in message:
        raise _fail(where, "missing 'role'")
    role = message["role"]
    if not isinstance(role, str) or role not in ROLES:
        raise _fail(where, f"unknown role {role!r}; expected one of {sorted(ROLES)}")
    unknown = set(message) - MESSAGE_KEYS
    if unknown:
        raise _fail(where, f"unknown key(s) {sorted(map(str, unknown))}")
    if "content" not in message and not (role == "assistant" and "tool_calls" in message):
        raise _fail(where, "missing 'content'")
    content: Any = message.get("content")
    if content is None:
        if role != "assistant":
            raise _fail(where, f"'content' may be null only for assistant messages, not {role!r}")
    elif isinstance(content, list):
        for j, part in enumerate(content):
            _check_part(f"{where}.content[{j}]", part)
    elif not isinstance(content, str):
        raise _fail(
            where, f"'content' must be a string or a list of parts, not {_type_name(content)}"
        )
    for key in ("name", "tool_call_id", "content_type", "tool_code"):
        if key in message and not isinstance(message[key], str):
            raise _fail(where, f"{key!r} must be a string, not {_type_name(message[key])}")
    if "tool_calls" in message:
        if role != "assistant":
            raise _fail(where, "only assistant messages carry 'tool_calls'")
        _check_tool_calls(where, message["tool_calls"])
    if role == "tool" and "tool_call_id" not in message:
        raise _fail(where, "a 'tool' message needs the 'tool_call_id' it answers")


def validate_messages(messages: object) -> None:
    """Raise `InvalidMessagesError` naming the first problem in `messages`, if any."""
    if not isinstance(messages, list | tuple):
        raise InvalidMessagesError(
            f"messages must be a list of message objects, not {_type_name(messages)}"
        )
    if not messages:
        raise InvalidMessagesError("messages must not be empty")
    for i, message in enumerate(messages):
        _check_message(i, message)
