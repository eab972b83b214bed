"""OpenAI Chat Completions, the gateway direction: requests in, answers and SSE chunks out.

`parse_request` checks a `/v1/chat/completions` body and splits it into our messages and the
parameters a provider takes (only an allow-list: see `protocols.fields`). `completion_body`
renders a client `ChatCompletion` as OpenAI's JSON; `ChunkEncoder` renders client
`ChatCompletionChunk`s as OpenAI's SSE events (the stream then ends with `DONE`); errors are
`error_body` objects, in a stream an `error_event` — never a made-up finish reason.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from json.encoder import encode_basestring
from typing import TYPE_CHECKING, Any

from ...transport.sse_encode import encode_event
from ..fields import (
    CacheSwitch,
    FieldError,
    cache_switch,
    check_media_url,
    is_int,
    is_number,
    is_str_list,
    provider_field,
    stream_field,
    take,
)

if TYPE_CHECKING:  # the client's response objects, read by attribute
    from ...client.types import ChatCompletion, ChatCompletionChunk, CompletionUsage

__all__ = [
    "ChatRequest",
    "ChunkEncoder",
    "completion_body",
    "error_body",
    "error_event",
    "parse_request",
]

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _is_stop(value: Any) -> bool:
    return isinstance(value, str) or is_str_list(value)


def _is_object(value: Any) -> bool:
    return isinstance(value, Mapping)


#: Request fields passed to the provider, with the check their value must pass.
KNOWN: dict[str, Any] = {
    "temperature": is_number,
    "top_p": is_number,
    "max_tokens": is_int,
    "max_completion_tokens": is_int,
    "stop": _is_stop,
    "seed": is_int,
    "tools": lambda v: isinstance(v, list),
    "tool_choice": lambda v: isinstance(v, str | Mapping),
    "response_format": _is_object,
    "user": lambda v: isinstance(v, str),
    "n": is_int,
    "presence_penalty": is_number,
    "frequency_penalty": is_number,
    "reasoning_effort": lambda v: isinstance(v, str),
    "thinking": _is_object,
    "web_search": lambda v: isinstance(v, bool),
}
#: Fields with no effect on the answer's content that SDKs and tools send: dropped.
IGNORED = frozenset(
    {
        "logprobs",
        "top_logprobs",
        "parallel_tool_calls",
        "store",
        "metadata",
        "service_tier",
        "modalities",
        "prompt_cache_key",
        "safety_identifier",
        "verbosity",
    }
)
#: Parameters a provider may lack: dropped (not refused) for providers without them.
SOFT = frozenset({"reasoning_effort", "thinking", "user"})


@dataclass(slots=True)
class ChatRequest:
    """A checked request: what the client layer needs to answer it."""

    model: str
    messages: list[dict[str, Any]]
    stream: bool = False
    include_usage: bool = False
    provider: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    #: The `cache` extension field (see `fields.cache_switch`); never sent to a provider.
    cache: CacheSwitch | None = None


def _check_media(messages: list[Any]) -> None:
    for i, message in enumerate(messages):
        content = message.get("content") if isinstance(message, Mapping) else None
        if not isinstance(content, list):
            continue
        for j, part in enumerate(content):
            if not isinstance(part, Mapping):
                continue
            where = f"messages[{i}].content[{j}]"
            if part.get("type") == "image_url":
                image = part.get("image_url")
                check_media_url(image.get("url") if isinstance(image, Mapping) else image, where)
            elif part.get("type") == "file" and isinstance(part.get("file"), Mapping):
                data = part["file"].get("file_data")
                if not (isinstance(data, str) and data.startswith("data:")):
                    raise FieldError("messages", f"{where}: a file needs data: file_data")


def parse_request(body: Any, allowed: Collection[str] = ()) -> ChatRequest:
    """Check a Chat Completions request body (`FieldError` names what is wrong)."""
    if not isinstance(body, Mapping):
        raise FieldError("body", "the body must be a JSON object")
    model = body.get("model")
    if not isinstance(model, str):
        raise FieldError("model", "model: required, a string")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise FieldError("messages", "messages: required, a non-empty list of messages")
    _check_media(messages)
    stream = stream_field(body)
    options = body.get("stream_options")
    if options is not None and not (isinstance(options, Mapping) and stream):
        raise FieldError("stream_options", "stream_options: an object, only with stream: true")
    provider = provider_field(body)
    rest = {
        k: v
        for k, v in body.items()
        if k not in ("model", "messages", "stream", "stream_options", "provider", "cache")
    }
    params = take(rest, KNOWN, IGNORED, allowed)
    if "max_completion_tokens" in params:
        params.setdefault("max_tokens", params.pop("max_completion_tokens"))
        params.pop("max_completion_tokens", None)
    return ChatRequest(
        model=model,
        messages=messages,
        stream=bool(stream),
        include_usage=bool(options and options.get("include_usage")),
        provider=provider,
        params=params,
        cache=cache_switch(body.get("cache")),
    )


# -- answers ------------------------------------------------------------------------------------


def usage_body(usage: CompletionUsage) -> dict[str, Any]:
    out: dict[str, Any] = {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens,
    }
    if usage.prompt_tokens_details:
        out["prompt_tokens_details"] = usage.prompt_tokens_details
    if usage.completion_tokens_details:
        out["completion_tokens_details"] = usage.completion_tokens_details
    return out


def _tool_calls(calls: list[Any]) -> list[dict[str, Any]]:
    return [
        {
            "id": c.id,
            "type": "function",
            "function": {"name": c.function.name, "arguments": c.function.arguments},
        }
        for c in calls
    ]


def completion_body(completion: ChatCompletion) -> dict[str, Any]:
    """A `chat.completion` object, as OpenAI sends it."""
    choice = completion.choices[0]
    message = choice.message
    out_message: dict[str, Any] = {
        "role": "assistant",
        "content": message.content,
        "refusal": None,
    }
    if message.tool_calls:
        out_message["tool_calls"] = _tool_calls(message.tool_calls)
    if message.reasoning_content:
        out_message["reasoning_content"] = message.reasoning_content
    body: dict[str, Any] = {
        "id": completion.id,
        "object": "chat.completion",
        "created": completion.created,
        "model": completion.model,
        "choices": [
            {
                "index": 0,
                "message": out_message,
                "logprobs": None,
                "finish_reason": choice.finish_reason,
            }
        ],
        "system_fingerprint": None,
    }
    if completion.usage is not None:
        body["usage"] = usage_body(completion.usage)
    return body


class ChunkEncoder:
    """Client `ChatCompletionChunk`s as OpenAI SSE events (bytes; b"" for nothing to send).

    The first chunk carries `role: "assistant"`, as OpenAI's does; with `include_usage` every
    chunk has `"usage": null` and the last, without choices, the usage."""

    __slots__ = ("_head", "_key", "_role_sent", "include_usage")

    def __init__(self, include_usage: bool = False) -> None:
        self.include_usage = include_usage
        self._key: tuple[str, str] | None = None
        self._head = ""
        self._role_sent = False

    def _prefix(self, chunk: ChatCompletionChunk) -> str:
        key = (chunk.id, chunk.model)
        if key != self._key:
            self._key = key
            self._head = (
                '{"id":' + encode_basestring(chunk.id) + ',"object":"chat.completion.chunk"'
                ',"created":'
                + str(int(chunk.created))
                + ',"model":'
                + encode_basestring(chunk.model)
                + ',"system_fingerprint":null,'
            )
        return self._head

    def encode(self, chunk: ChatCompletionChunk) -> bytes:
        head = self._prefix(chunk)
        if not chunk.choices:
            if not self.include_usage or chunk.usage is None:
                return b""
            return encode_event(
                head + '"choices":[],"usage":' + _dumps(usage_body(chunk.usage)) + "}"
            )
        tail = ',"usage":null}' if self.include_usage else "}"
        choice = chunk.choices[0]
        delta = choice.delta
        if (
            delta.content is not None
            and choice.finish_reason is None
            and self._role_sent
            and delta.tool_calls is None
            and delta.reasoning_content is None
        ):
            return encode_event(
                head
                + '"choices":[{"index":0,"delta":{"content":'
                + encode_basestring(delta.content)
                + '},"logprobs":null,"finish_reason":null}]'
                + tail
            )
        out: dict[str, Any] = {}
        if not self._role_sent:
            out["role"] = "assistant"
            self._role_sent = True
        if delta.content is not None:
            out["content"] = delta.content
        if delta.reasoning_content is not None:
            out["reasoning_content"] = delta.reasoning_content
        if delta.tool_calls:
            out["tool_calls"] = [
                {
                    "index": c.index,
                    "id": c.id,
                    "type": "function",
                    "function": {
                        "name": c.function.name if c.function else "",
                        "arguments": c.function.arguments if c.function else "",
                    },
                }
                for c in delta.tool_calls
            ]
        choices = [
            {"index": 0, "delta": out, "logprobs": None, "finish_reason": choice.finish_reason}
        ]
        return encode_event(head + '"choices":' + _dumps(choices) + tail)


def error_body(
    message: str,
    kind: str = "invalid_request_error",
    param: str | None = None,
    code: str | None = None,
) -> dict[str, Any]:
    """OpenAI's error object: `{"error": {"message", "type", "param", "code"}}`."""
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


def error_event(message: str, kind: str = "api_error", code: str | None = None) -> bytes:
    """The event that ends a stream which failed after its first chunk (the openai SDK raises
    `APIError` on it); no `[DONE]` follows."""
    return encode_event(_dumps(error_body(message, kind, None, code)))
