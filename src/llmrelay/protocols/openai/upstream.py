"""OpenAI Chat Completions wire format: request building and response parsing, I/O-free.

`build_payload` turns the spec's parameters into the request body; `StreamParser` turns
`chat.completion.chunk` events into llmrelay chunks (text, `Reasoning`, `ToolCalls` assembled
from their streamed fragments, `Usage`, `FinishReason`); `parse_completion` does the same for a
whole `chat.completion`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...errors import InvalidRequestError, ResponseError
from ...providers.media import Media
from ...providers.response import (
    FinishReason,
    Reasoning,
    ResponseType,
    Sources,
    ToolCalls,
    Usage,
)
from ...providers.shapes import upstream_shape

__all__ = [
    "StreamParser",
    "build_messages",
    "build_payload",
    "parse_completion",
    "stop_sequences",
]

# Keys the API takes on a message; the spec's other keys (tool_code, content_type, …) and our
# reasoning fields are dropped (some servers refuse unknown keys).
_WIRE_MESSAGE_KEYS = ("role", "content", "name", "tool_calls", "tool_call_id", "function_call")
_RESPONSE_FORMATS = ("text", "json_object", "json_schema")
_AUDIO_FORMATS = {"audio/wav": "wav", "audio/x-wav": "wav", "audio/mpeg": "mp3"}

Chunk = str | ResponseType


def _media_part(item: Media) -> dict[str, Any]:
    if item.mime_type.startswith("image/") or (item.is_url and item.mime_type.startswith("app")):
        return {"type": "image_url", "image_url": {"url": item.uri}}
    if item.mime_type == "application/pdf" and not item.is_url:
        return {
            "type": "file",
            "file": {"filename": item.name or "file.pdf", "file_data": item.uri},
        }
    if item.mime_type in _AUDIO_FORMATS and not item.is_url:
        return {
            "type": "input_audio",
            "input_audio": {"data": item.base64_data, "format": _AUDIO_FORMATS[item.mime_type]},
        }
    raise InvalidRequestError(
        f"media of type {item.mime_type} ({item.name or 'unnamed'}) cannot be sent to this API"
    )


def build_messages(messages: list[dict[str, Any]], media: list[Media]) -> list[dict[str, Any]]:
    """Messages as the API takes them, with `media` added to the last user message."""
    wire = [{k: m[k] for k in _WIRE_MESSAGE_KEYS if k in m} for m in messages]
    if media:
        for message in reversed(wire):
            if message["role"] == "user":
                content = message.get("content")
                parts = [{"type": "text", "text": content}] if isinstance(content, str) else []
                if isinstance(content, list):
                    parts = list(content)
                message["content"] = parts + [_media_part(item) for item in media]
                break
        else:
            raise InvalidRequestError("media needs a user message to attach to")
    return wire


def _check_response_format(response_format: Any) -> None:
    if not isinstance(response_format, Mapping):
        raise InvalidRequestError("response_format must be an object like {'type': 'json_object'}")
    kind = response_format.get("type")
    if kind not in _RESPONSE_FORMATS:
        raise InvalidRequestError(
            f"response_format type {kind!r} is not one of {list(_RESPONSE_FORMATS)}"
        )
    if kind == "json_schema":
        schema = response_format.get("json_schema")
        if not isinstance(schema, Mapping) or not isinstance(schema.get("name"), str):
            raise InvalidRequestError(
                "response_format json_schema needs {'json_schema': {'name': …, 'schema': {…}}}"
            )


def stop_sequences(stop: Any) -> list[str]:
    """`stop` (a string or a list of strings) as a list; anything else is refused."""
    if isinstance(stop, str):
        return [stop]
    if not isinstance(stop, list | tuple) or not all(isinstance(s, str) for s in stop):
        raise InvalidRequestError(f"stop must be a string or a list of strings, not {stop!r}")
    return list(stop)


def _check_tools(tools: Any) -> None:
    if not isinstance(tools, list) or not all(isinstance(t, Mapping) for t in tools):
        raise InvalidRequestError("tools must be a list of tool objects")
    for i, tool in enumerate(tools):
        function = tool.get("function")
        if tool.get("type") != "function" or not isinstance(function, Mapping):
            raise InvalidRequestError(
                f"tools[{i}] must be {{'type': 'function', 'function': {{'name': …}}}}"
            )
        if not isinstance(function.get("name"), str):
            raise InvalidRequestError(f"tools[{i}].function needs a string 'name'")


def build_payload(
    model: str,
    messages: list[dict[str, Any]],
    *,
    stream: bool,
    media: list[Media],
    response_format: Any = None,
    tools: Any = None,
    **options: Any,
) -> dict[str, Any]:
    """The request body. `options` are sent as given when not None (seed, temperature, …)."""
    payload: dict[str, Any] = {"model": model, "messages": build_messages(messages, media)}
    if stream:
        payload["stream"] = True
        payload["stream_options"] = {"include_usage": True}
    if response_format is not None:
        _check_response_format(response_format)
        payload["response_format"] = response_format
    if tools is not None:
        _check_tools(tools)
        payload["tools"] = tools
    if options.get("stop") is not None:
        stop_sequences(options["stop"])
    payload.update((k, v) for k, v in options.items() if v is not None)
    return payload


def _usage(data: Mapping[str, Any]) -> Usage:
    return Usage(**data)


def _sources(annotations: Any) -> list[Chunk]:
    """`url_citation` annotations (web search answers) as one `Sources` chunk."""
    cited = [
        {"url": a["url_citation"]["url"], "title": a["url_citation"].get("title") or ""}
        for a in annotations or ()
        if isinstance(a, Mapping) and a.get("type") == "url_citation" and a.get("url_citation")
    ]
    return [Sources(cited)] if cited else []


class StreamParser:
    """Turns the `data` objects of a Chat Completions stream into llmrelay chunks."""

    __slots__ = ("_tool_calls", "finish_reason")

    def __init__(self) -> None:
        self._tool_calls: dict[int, dict[str, Any]] = {}
        self.finish_reason: str | None = None

    @upstream_shape("an OpenAI stream event")
    def feed(self, data: Mapping[str, Any]) -> list[Chunk]:
        out: list[Chunk] = []
        for choice in data.get("choices") or ():
            delta = choice.get("delta") or {}
            reasoning = delta.get("reasoning_content") or delta.get("reasoning")
            if reasoning:
                out.append(Reasoning(token=reasoning))
            content = delta.get("content")
            if content:
                out.append(content)
            if annotations := delta.get("annotations"):
                out.extend(_sources(annotations))
            for fragment in delta.get("tool_calls") or ():
                self._merge_tool_call(fragment)
            if choice.get("finish_reason"):
                self.finish_reason = choice["finish_reason"]
                out.extend(self._final())
        usage = data.get("usage")
        if usage:
            out.append(_usage(usage))
        return out

    def _merge_tool_call(self, fragment: Mapping[str, Any]) -> None:
        index = fragment.get("index", len(self._tool_calls))
        call = self._tool_calls.setdefault(
            index, {"id": "", "type": "function", "function": {"name": "", "arguments": ""}}
        )
        if fragment.get("id"):
            call["id"] = fragment["id"]
        function = fragment.get("function") or {}
        if function.get("name"):
            call["function"]["name"] += function["name"]
        if function.get("arguments"):
            call["function"]["arguments"] += function["arguments"]

    def _final(self) -> list[Chunk]:
        out: list[Chunk] = []
        if self._tool_calls:
            out.append(ToolCalls([self._tool_calls[i] for i in sorted(self._tool_calls)]))
            self._tool_calls = {}
        out.append(FinishReason(self.finish_reason or "stop"))
        return out

    def close(self) -> list[Chunk]:
        """At `[DONE]`: tool calls and finish reason not yet reported (servers that never send
        a finish_reason)."""
        return self._final() if self.finish_reason is None and self._tool_calls else []


@upstream_shape("an OpenAI completion")
def parse_completion(data: Mapping[str, Any]) -> list[Chunk]:
    """The chunks of a whole (non-streamed) `chat.completion`."""
    choices = data.get("choices")
    if not isinstance(choices, list) or not choices:
        raise ResponseError(f"the response has no choices: {str(dict(data))[:200]}")
    choice = choices[0]
    message = choice.get("message") or {}
    out: list[Chunk] = []
    reasoning = message.get("reasoning_content") or message.get("reasoning")
    if reasoning:
        out.append(Reasoning(token=reasoning))
    if message.get("content"):
        out.append(message["content"])
    out.extend(_sources(message.get("annotations")))
    if message.get("tool_calls"):
        out.append(ToolCalls(list(message["tool_calls"])))
    out.append(FinishReason(choice.get("finish_reason") or "stop"))
    if data.get("usage"):
        out.append(_usage(data["usage"]))
    return out
