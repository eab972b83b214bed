"""Ollama's native chat API (`POST /api/chat`): request building and NDJSON parsing, I/O-free.

`build_payload` turns OpenAI-shaped messages and the spec's parameters into an `/api/chat` body:
content parts flattened to `content` text plus `images` (raw base64, no `data:` prefix), assistant
tool calls with their arguments as an object, tool results as `tool` messages that name the tool
(`tool_name`, found from the call they answer) and the call (`tool_call_id`), sampling parameters
under `options` (`max_tokens` → `num_predict`), `response_format` as `format` ("json" or the
schema itself), and `stream` always explicit (Ollama streams unless told `"stream": false`).

`StreamParser` turns the NDJSON objects of an answer into llmrelay chunks: `message.thinking` →
`Reasoning`, `message.content` → text, `message.tool_calls` → one `ToolCalls` (OpenAI's shape,
arguments as a JSON string, `call_<n>` ids where the server gave none) and, at the object with
`done: true`, `FinishReason` and `Usage` (`prompt_eval_count`, `eval_count`). `parse_response`
does the same for a whole (non-streamed) answer. `parse_host` reads `OLLAMA_HOST` as Ollama does.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from ...errors import IncompleteResponseError, InvalidMessagesError, InvalidRequestError
from ...providers.media import Media, load_media
from ...providers.response import FinishReason, Reasoning, ResponseType, ToolCalls, Usage
from ...providers.shapes import upstream_shape
from ..openai.upstream import _check_response_format, _check_tools, stop_sequences

__all__ = [
    "DEFAULT_PORT",
    "StreamParser",
    "build_messages",
    "build_payload",
    "parse_host",
    "parse_response",
]

DEFAULT_PORT = 11434
#: Ollama's `done_reason` → OpenAI's finish reason. `load`/`unload` answer a request that only
#: loaded or unloaded the model (no messages); any other reason is passed on as given.
DONE_REASONS = {"stop": "stop", "length": "length", "load": "stop", "unload": "stop"}
_ROLES = {"system": "system", "developer": "system", "user": "user", "assistant": "assistant",
          "tool": "tool", "function": "tool"}  # fmt: skip
_NO_URLS = (
    "Ollama takes image bytes, not URLs (OllamaNative fetches URLs before building the "
    "request): pass the image as media=[(bytes_or_path, name)] or as a data: URI"
)

Chunk = str | ResponseType


# -- configuration --------------------------------------------------------------------------


def parse_host(value: str) -> str:
    """A base URL from an `OLLAMA_HOST`-style value, as Ollama's own clients read it:
    `host`, `host:port`, `:port` or a full `http(s)://` URL (no scheme means `http://` and, without
    a port, 11434). A trailing slash is dropped; a path is kept."""
    value = value.strip()
    scheme, sep, rest = value.partition("://")
    if not sep:
        scheme, rest = "http", value
    if scheme not in ("http", "https"):
        raise InvalidRequestError(f"an Ollama host must be http(s), not {value!r}")
    try:
        parts = urlsplit(f"{scheme}://{rest}")
        port = parts.port
    except ValueError as exc:
        raise InvalidRequestError(f"invalid Ollama host {value!r}: {exc}") from exc
    host = parts.hostname or "127.0.0.1"
    try:
        if ipaddress.ip_address(host).version == 6:
            host = f"[{host}]"
    except ValueError:
        pass
    if port is None and not sep:
        port = DEFAULT_PORT
    netloc = host if port is None else f"{host}:{port}"
    path = parts.path.rstrip("/")
    return f"{scheme}://{netloc}{path}"


# -- request --------------------------------------------------------------------------------


def _image(item: Media, where: str) -> str:
    """The raw base64 of an image (what `images` takes)."""
    if item.is_url:
        raise InvalidRequestError(f"{where}: {_NO_URLS} (got {item.uri[:80]!r})")
    if not item.mime_type.startswith("image/"):
        raise InvalidRequestError(
            f"{where}: Ollama's chat API takes images only, not {item.mime_type} "
            f"({item.name or 'unnamed'})"
        )
    return item.base64_data


def _content(content: Any, where: str) -> tuple[str, list[str]]:
    """(text, images) of OpenAI content: text parts joined by newlines, images as base64."""
    if content is None:
        return "", []
    if isinstance(content, str):
        return content, []
    texts: list[str] = []
    images: list[str] = []
    for j, part in enumerate(content):
        kind, here = part["type"], f"{where}.content[{j}]"
        if kind in ("text", "refusal"):
            texts.append(part[kind])
        elif kind == "image_url":
            image = part["image_url"]
            url = image["url"] if isinstance(image, Mapping) else image
            if not url.startswith("data:"):
                raise InvalidMessagesError(f"{here}: {_NO_URLS}")
            images.append(_image(load_media([url])[0], here))
        else:
            raise InvalidMessagesError(f"{here}: Ollama's chat API takes no {kind!r} part")
    return "\n".join(texts), images


def _tool_call(call: Mapping[str, Any], where: str) -> dict[str, Any]:
    arguments = call["function"].get("arguments") or "{}"
    try:
        parsed = json.loads(arguments) if isinstance(arguments, str) else arguments
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict):
        raise InvalidMessagesError(f"{where}: arguments must be a JSON object, not {arguments!r}")
    out: dict[str, Any] = {"function": {"name": call["function"]["name"], "arguments": parsed}}
    if call.get("id"):
        out["id"] = call["id"]
    return out


def _tool_names(messages: list[dict[str, Any]]) -> dict[str, str]:
    """Tool call id → function name, over every assistant turn (a later id wins)."""
    return {
        call["id"]: call["function"]["name"]
        for message in messages
        for call in message.get("tool_calls") or ()
        if isinstance(call.get("id"), str)
    }


def build_messages(messages: list[dict[str, Any]], media: list[Media]) -> list[dict[str, Any]]:
    """Messages as `/api/chat` takes them, with `media` added to the last user message."""
    names = _tool_names(messages)
    wire: list[dict[str, Any]] = []
    for i, message in enumerate(messages):
        where = f"messages[{i}]"
        role = _ROLES[message["role"]]
        text, images = _content(message.get("content"), where)
        out: dict[str, Any] = {"role": role, "content": text}
        if images:
            out["images"] = images
        if role == "assistant":
            if isinstance(message.get("reasoning_content"), str) and message["reasoning_content"]:
                out["thinking"] = message["reasoning_content"]
            calls = message.get("tool_calls") or ()
            if calls:
                out["tool_calls"] = [
                    _tool_call(call, f"{where}.tool_calls[{j}]") for j, call in enumerate(calls)
                ]
        elif role == "tool":
            call_id = message.get("tool_call_id")
            name = names.get(call_id or "") or message.get("name")
            if name:
                out["tool_name"] = name
            if call_id:
                out["tool_call_id"] = call_id
        wire.append(out)
    if media:
        user = next((m for m in reversed(wire) if m["role"] == "user"), None)
        if user is None:
            raise InvalidRequestError("media needs a user message to attach to")
        added = [_image(item, f"media[{k}]") for k, item in enumerate(media)]
        user["images"] = [*user.get("images", ()), *added]
    return wire


def _format(response_format: Any) -> Any:
    """`response_format` as Ollama's `format`: "json", a JSON schema, or None (plain text)."""
    _check_response_format(response_format)
    kind = response_format["type"]
    if kind == "json_object":
        return "json"
    if kind == "json_schema":
        schema = response_format["json_schema"].get("schema")
        if schema is None:
            return "json"
        if not isinstance(schema, Mapping):
            raise InvalidRequestError("response_format json_schema.schema must be an object")
        return dict(schema)
    return None


def _tools(tools: Any, tool_choice: Any) -> Any:
    """The tools to offer, honouring `tool_choice` where Ollama can (it has no such field)."""
    if tool_choice in (None, "auto"):
        return tools
    if tool_choice == "none":
        return None
    raise InvalidRequestError(
        f"Ollama cannot force a tool call (tool_choice={tool_choice!r}); "
        "use 'auto' or 'none', or say in the prompt which tool to use"
    )


def _check_think(think: Any) -> None:
    if think is not None and not isinstance(think, bool | str):
        raise InvalidRequestError(
            f"think must be True, False or a level such as 'low'/'medium'/'high', not {think!r}"
        )


def build_payload(
    model: str,
    messages: list[dict[str, Any]],
    *,
    stream: bool,
    media: list[Media],
    response_format: Any = None,
    tools: Any = None,
    tool_choice: Any = None,
    think: bool | str | None = None,
    keep_alive: str | float | None = None,
    max_tokens: int | None = None,
    stop: str | list[str] | None = None,
    options: Mapping[str, Any] | None = None,
    **sampling: Any,
) -> dict[str, Any]:
    """The request body. `sampling` (temperature, top_p, seed, …) goes under `options` when not
    None, over the raw Ollama `options` given (num_ctx, …); `max_tokens` is `num_predict`."""
    payload: dict[str, Any] = {
        "model": model,
        "messages": build_messages(messages, media),
        "stream": stream,
    }
    if tools is not None:
        _check_tools(tools)
    offered = _tools(tools, tool_choice)
    if offered:
        payload["tools"] = offered
    if response_format is not None and (fmt := _format(response_format)) is not None:
        payload["format"] = fmt
    _check_think(think)
    if think is not None:
        payload["think"] = think
    if keep_alive is not None:
        payload["keep_alive"] = keep_alive
    if options is not None and not isinstance(options, Mapping):
        raise InvalidRequestError(
            "options must be a dict of Ollama options, like {'num_ctx': 8192}"
        )
    merged = dict(options or {})
    merged.update((k, v) for k, v in sampling.items() if v is not None)
    if max_tokens is not None:
        merged["num_predict"] = max_tokens
    if stop is not None:
        merged["stop"] = stop_sequences(stop)
    if merged:
        payload["options"] = merged
    return payload


# -- response -------------------------------------------------------------------------------


class StreamParser:
    """Turns the objects of an `/api/chat` answer into llmrelay chunks; `done` once the
    object with `done: true` was fed."""

    __slots__ = ("_tool_calls", "done")

    def __init__(self) -> None:
        self._tool_calls: list[dict[str, Any]] = []
        self.done = False

    @upstream_shape("an Ollama stream line")
    def feed(self, data: Mapping[str, Any]) -> list[Chunk]:
        out: list[Chunk] = []
        message = data.get("message") or {}
        if message.get("thinking"):
            out.append(Reasoning(token=message["thinking"]))
        if message.get("content"):
            out.append(message["content"])
        for call in message.get("tool_calls") or ():
            self._tool_calls.append(self._tool_call(call))
        if data.get("done"):
            self.done = True
            out.extend(self._final(data))
        return out

    def _tool_call(self, call: Mapping[str, Any]) -> dict[str, Any]:
        function = call.get("function") or {}
        arguments = function.get("arguments")
        if not isinstance(arguments, str):
            arguments = json.dumps(arguments if arguments is not None else {})
        return {
            "id": call.get("id") or f"call_{len(self._tool_calls)}",
            "type": "function",
            "function": {"name": function.get("name") or "", "arguments": arguments},
        }

    def _final(self, data: Mapping[str, Any]) -> list[Chunk]:
        out: list[Chunk] = []
        if self._tool_calls:
            out.append(ToolCalls(self._tool_calls))
            reason = "tool_calls"
        else:
            reason = data.get("done_reason") or "stop"
            reason = DONE_REASONS.get(reason, reason)
        out.append(FinishReason(reason))
        prompt, completion = data.get("prompt_eval_count"), data.get("eval_count")
        if prompt is not None or completion is not None:
            prompt, completion = prompt or 0, completion or 0
            out.append(
                Usage(
                    prompt_tokens=prompt,
                    completion_tokens=completion,
                    total_tokens=prompt + completion,
                )
            )
        return out


@upstream_shape("an Ollama response")
def parse_response(data: Mapping[str, Any]) -> list[Chunk]:
    """The chunks of a whole (non-streamed) answer, which must be marked `done`."""
    parser = StreamParser()
    chunks = parser.feed(data)
    if not parser.done:
        raise IncompleteResponseError(
            f"the answer is not marked done: {json.dumps(dict(data))[:200]}"
        )
    return chunks
