"""Anthropic Messages API requests, I/O-free (responses: `upstream_response`).

`build_payload` turns OpenAI-shaped messages and the spec's parameters into a `/v1/messages`
body: system and developer messages lifted into `system`, `tool` results sent as `tool_result`
blocks in a user turn, consecutive turns of one role merged (the API wants user and assistant to
alternate), images and PDFs as content blocks, OpenAI tools as `input_schema` tools.

"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

from ...errors import InvalidMessagesError, InvalidRequestError
from ...providers.media import Media, load_media
from ...providers.response import ResponseType
from ..openai.upstream import _check_response_format, _check_tools, stop_sequences

__all__ = ["DEFAULT_MAX_TOKENS", "build_messages", "build_payload"]

DEFAULT_MAX_TOKENS = 4096
WEB_SEARCH_TOOL = {"type": "web_search_20250305", "name": "web_search", "max_uses": 5}
#: `response_format: json_object` has no schema to enforce: it becomes this instruction.
JSON_OBJECT_INSTRUCTION = "Respond with one valid JSON object only: no prose, no code fences."
IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
_TOOL_CHOICES = {"auto": {"type": "auto"}, "none": {"type": "none"}, "required": {"type": "any"}}

Chunk = str | ResponseType
Block = dict[str, Any]


# -- request ----------------------------------------------------------------------------------


def _media_block(item: Media) -> Block:
    """An image, PDF or plain-text document block for one media item."""
    if item.is_url:
        if not item.uri.startswith("https://"):
            raise InvalidRequestError(f"Anthropic fetches https URLs only, not {item.uri[:80]!r}")
        kind = "document" if item.mime_type == "application/pdf" else "image"
        return {"type": kind, "source": {"type": "url", "url": item.uri}}
    if item.mime_type in IMAGE_TYPES:
        source = {"type": "base64", "media_type": item.mime_type, "data": item.base64_data}
        return {"type": "image", "source": source}
    if item.mime_type == "application/pdf":
        source = {"type": "base64", "media_type": "application/pdf", "data": item.base64_data}
        return {"type": "document", "source": source}
    if item.mime_type == "text/plain":
        text = base64.b64decode(item.base64_data).decode("utf-8", "replace")
        return {"type": "document", "source": {"type": "text", "media_type": "text/plain",
                                               "data": text}}  # fmt: skip
    raise InvalidRequestError(
        f"media of type {item.mime_type} ({item.name or 'unnamed'}) cannot be sent to Anthropic: "
        "it takes JPEG, PNG, GIF and WebP images, PDFs and plain text"
    )


def _url_block(url: str, where: str) -> Block:
    """An `image_url` or `file` part's URL: a `data:` URI or an https URL (never a local path)."""
    if not url.startswith(("data:", "https://", "http://")):
        raise InvalidMessagesError(f"{where}: a URL must be a data: URI or an https URL")
    return _media_block(load_media([url])[0])


def _blocks(content: Any, where: str) -> list[Block]:
    """OpenAI content (a string or parts) as Anthropic content blocks; empty text dropped."""
    if content is None:
        return []
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    blocks: list[Block] = []
    for j, part in enumerate(content):
        kind = part["type"]
        if kind in ("text", "refusal"):
            if part[kind]:
                blocks.append({"type": "text", "text": part[kind]})
        elif kind == "image_url":
            image = part["image_url"]
            url = image["url"] if isinstance(image, Mapping) else image
            blocks.append(_url_block(url, f"{where}.content[{j}]"))
        elif kind == "file":
            data = part["file"].get("file_data")
            if not isinstance(data, str):
                raise InvalidMessagesError(f"{where}.content[{j}]: a file needs its file_data")
            blocks.append(_url_block(data, f"{where}.content[{j}]"))
        else:
            raise InvalidMessagesError(f"{where}.content[{j}]: Anthropic takes no {kind!r} part")
    return blocks


def _tool_use(call: Mapping[str, Any], where: str) -> Block:
    arguments = call["function"].get("arguments") or "{}"
    try:
        parsed = json.loads(arguments) if isinstance(arguments, str) else arguments
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict):
        raise InvalidMessagesError(f"{where}: arguments must be a JSON object, not {arguments!r}")
    return {"type": "tool_use", "id": call["id"], "name": call["function"]["name"],
            "input": parsed}  # fmt: skip


def _thinking(message: Mapping[str, Any]) -> list[Block]:
    """A signed thinking block from `reasoning: {"signature", "text"?}` (text defaults to
    `reasoning_content`); unsigned reasoning is dropped: the API refuses it."""
    reasoning = message.get("reasoning")
    if not isinstance(reasoning, Mapping) or not isinstance(reasoning.get("signature"), str):
        return []
    text = reasoning.get("text") or message.get("reasoning_content") or ""
    return [{"type": "thinking", "thinking": text, "signature": reasoning["signature"]}]


def _turn(i: int, message: Mapping[str, Any]) -> tuple[str, list[Block]]:
    where = f"messages[{i}]"
    role = message["role"]
    if role == "user":
        return "user", _blocks(message.get("content"), where)
    if role == "assistant":
        calls = [_tool_use(c, f"{where}.tool_calls[{j}]")
                 for j, c in enumerate(message.get("tool_calls") or ())]  # fmt: skip
        return "assistant", _thinking(message) + _blocks(message.get("content"), where) + calls
    if role == "tool":
        result: Block = {"type": "tool_result", "tool_use_id": message["tool_call_id"]}
        content = message.get("content")
        if content:
            result["content"] = content if isinstance(content, str) else _blocks(content, where)
        return "user", [result]
    raise InvalidMessagesError(f"{where}: Anthropic takes no {role!r} messages; use 'tool'")


def _system_text(i: int, content: Any) -> str:
    blocks = _blocks(content, f"messages[{i}]")
    if any(b["type"] != "text" for b in blocks):
        raise InvalidMessagesError(f"messages[{i}]: a system message may hold text only")
    return "\n\n".join(b["text"] for b in blocks)


def build_messages(
    messages: list[dict[str, Any]], media: list[Media]
) -> tuple[list[str], list[dict[str, Any]]]:
    """(system texts, turns): system/developer messages lifted out, wherever they stand;
    consecutive turns of one role merged, with a user turn's `tool_result` blocks first (as the
    API requires); `media` added to the last user turn."""
    system: list[str] = []
    turns: list[dict[str, Any]] = []
    for i, message in enumerate(messages):
        if message["role"] in ("system", "developer"):
            if text := _system_text(i, message.get("content")):
                system.append(text)
            continue
        role, blocks = _turn(i, message)
        if not blocks and role == "assistant" and i == len(messages) - 1:
            continue  # an empty final assistant turn prefills nothing
        if not blocks:
            raise InvalidMessagesError(f"messages[{i}]: empty content (Anthropic refuses it)")
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": role, "content": blocks})
    if media:
        user = next((t for t in reversed(turns) if t["role"] == "user"), None)
        if user is None:
            raise InvalidRequestError("media needs a user message to attach to")
        user["content"].extend(_media_block(item) for item in media)
    for turn in turns:
        if turn["role"] == "user":
            turn["content"].sort(key=lambda b: b["type"] != "tool_result")  # stable
    if not turns:
        raise InvalidMessagesError("Anthropic needs at least one user or assistant message")
    return system, turns


def _tool(tool: Mapping[str, Any]) -> Block:
    function = tool["function"]
    schema = function.get("parameters") or {"type": "object", "properties": {}}
    out: Block = {"name": function["name"], "input_schema": schema}
    if function.get("description"):
        out["description"] = function["description"]
    return out


def _tool_choice(choice: Any) -> Block:
    if isinstance(choice, str) and choice in _TOOL_CHOICES:
        return dict(_TOOL_CHOICES[choice])
    if isinstance(choice, Mapping):
        function = choice.get("function")
        if isinstance(function, Mapping) and isinstance(function.get("name"), str):
            return {"type": "tool", "name": function["name"]}
    raise InvalidRequestError(
        "tool_choice must be 'auto', 'none', 'required' or "
        f"{{'type': 'function', 'function': {{'name': …}}}}, not {choice!r}"
    )


def build_payload(
    model: str,
    messages: list[dict[str, Any]],
    *,
    stream: bool,
    media: list[Media],
    max_tokens: int | None = None,
    response_format: Any = None,
    tools: Any = None,
    tool_choice: Any = None,
    stop: str | list[str] | None = None,
    thinking: Any = None,
    web_search: bool = False,
    user: str | None = None,
    **options: Any,
) -> dict[str, Any]:
    """The request body. `options` (temperature, top_p) are sent as given when not None.

    `json_schema` output uses the API's structured outputs (`output_config.format`);
    `json_object` has no schema to enforce, so it adds an instruction to the system prompt."""
    system, turns = build_messages(messages, media)
    if thinking is not None and (
        not isinstance(thinking, Mapping) or not isinstance(thinking.get("type"), str)
    ):
        raise InvalidRequestError("thinking must be like {'type': 'enabled', 'budget_tokens': N}")
    if max_tokens is None:
        budget = thinking.get("budget_tokens") if thinking else None
        budget = budget if isinstance(budget, int) else 0
        max_tokens = DEFAULT_MAX_TOKENS + (budget if budget >= DEFAULT_MAX_TOKENS else 0)
    elif isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
        raise InvalidRequestError(f"max_tokens must be a positive integer: {max_tokens!r}")
    output_format = None
    if response_format is not None:
        _check_response_format(response_format)
        if response_format["type"] == "json_schema":
            schema = response_format["json_schema"].get("schema") or {"type": "object"}
            output_format = {"type": "json_schema", "schema": schema}
        elif response_format["type"] == "json_object":
            system.append(JSON_OBJECT_INSTRUCTION)
    payload: dict[str, Any] = {"model": model, "max_tokens": max_tokens, "messages": turns}
    if system:
        payload["system"] = "\n\n".join(system)
    if output_format is not None:
        payload["output_config"] = {"format": output_format}
    if stream:
        payload["stream"] = True
    if stop is not None:
        payload["stop_sequences"] = stop_sequences(stop)
    wire_tools: list[Block] = []
    if tools is not None:
        _check_tools(tools)
        wire_tools = [_tool(t) for t in tools]
    if web_search:
        wire_tools.append(dict(WEB_SEARCH_TOOL))
    if wire_tools:
        payload["tools"] = wire_tools
    if tool_choice is not None:
        choice = _tool_choice(tool_choice)
        if wire_tools:
            payload["tool_choice"] = choice
        elif choice["type"] not in ("auto", "none"):
            raise InvalidRequestError(f"tool_choice {tool_choice!r} needs tools")
    if thinking is not None:
        payload["thinking"] = dict(thinking)
    if user is not None:
        payload["metadata"] = {"user_id": user}
    payload.update((k, v) for k, v in options.items() if v is not None)
    return payload
