"""Anthropic Messages, the gateway direction: a `/v1/messages` request into our messages and
parameters (the reverse of `upstream_request`).

Our messages are OpenAI-shaped: `system` becomes a system message; content blocks become
parts (`text`, `image` as `image_url` with a data: URI or URL, PDF `document`s as `file`
parts); `tool_use` blocks become the assistant's `tool_calls` (`input` as JSON text);
`tool_result` blocks become `tool` messages, placed before the rest of their user turn; signed
`thinking` blocks become `reasoning_content` + `reasoning: {"signature"}` (which the Anthropic
provider sends back). Parameters: `max_tokens`, `stop_sequences` → `stop`, `temperature`,
`top_p`, `tools` (`input_schema` → `parameters`; the web search server tool → `web_search`),
`tool_choice`, `thinking`, `metadata.user_id` → `user`.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from typing import Any

from ..fields import (
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
from ..openai.gateway import ChatRequest

__all__ = ["KNOWN", "SOFT", "parse_request"]

KNOWN: dict[str, Any] = {
    "max_tokens": is_int,
    "stop_sequences": is_str_list,
    "temperature": is_number,
    "top_p": is_number,
    "top_k": is_int,
    "tools": lambda v: isinstance(v, list),
    "tool_choice": lambda v: isinstance(v, Mapping),
    "thinking": lambda v: isinstance(v, Mapping),
    "metadata": lambda v: isinstance(v, Mapping),
}
IGNORED = frozenset({"service_tier", "anthropic_version", "anthropic_beta"})
#: Parameters a provider may lack: dropped (not refused) for providers without them.
SOFT = frozenset({"thinking", "user", "top_k"})

Block = Mapping[str, Any]


def _image(block: Block, where: str) -> dict[str, Any]:
    source = block.get("source")
    if not isinstance(source, Mapping):
        raise FieldError("messages", f"{where}: an image needs a 'source'")
    if source.get("type") == "base64":
        url = f"data:{source.get('media_type')};base64,{source.get('data')}"
    elif source.get("type") == "url":
        check_media_url(source.get("url"), where)
        url = str(source["url"])
    else:
        raise FieldError("messages", f"{where}: image source type must be base64 or url")
    return {"type": "image_url", "image_url": {"url": url}}


def _document(block: Block, where: str) -> dict[str, Any]:
    source = block.get("source")
    if not isinstance(source, Mapping):
        raise FieldError("messages", f"{where}: a document needs a 'source'")
    kind = source.get("type")
    if kind == "text" and isinstance(source.get("data"), str):
        return {"type": "text", "text": source["data"]}
    if kind == "base64":
        data = f"data:{source.get('media_type')};base64,{source.get('data')}"
        return {
            "type": "file",
            "file": {"filename": str(block.get("title") or "document.pdf"), "file_data": data},
        }
    if kind == "url":
        check_media_url(source.get("url"), where)
        return {"type": "image_url", "image_url": {"url": source["url"]}}
    raise FieldError("messages", f"{where}: document source type must be text, base64 or url")


def _part(block: Block, where: str) -> dict[str, Any]:
    kind = block.get("type")
    if kind == "text":
        if not isinstance(block.get("text"), str):
            raise FieldError("messages", f"{where}: a text block needs a string 'text'")
        return {"type": "text", "text": block["text"]}
    if kind == "image":
        return _image(block, where)
    if kind == "document":
        return _document(block, where)
    raise FieldError("messages", f"{where}: unsupported content block type {kind!r}")


def _tool_result(block: Block, where: str) -> dict[str, Any]:
    if not isinstance(block.get("tool_use_id"), str):
        raise FieldError("messages", f"{where}: a tool_result needs a string 'tool_use_id'")
    content = block.get("content", "")
    if isinstance(content, list):
        texts = []
        for j, item in enumerate(content):
            part = _part(item, f"{where}.content[{j}]") if isinstance(item, Mapping) else None
            if part is None or part["type"] != "text":
                raise FieldError("messages", f"{where}.content[{j}]: tool results take text")
            texts.append(part["text"])
        content = "\n".join(texts)
    elif not isinstance(content, str):
        raise FieldError("messages", f"{where}: tool_result content must be text or blocks")
    if block.get("is_error"):
        content = f"Error: {content}"
    return {"role": "tool", "tool_call_id": block["tool_use_id"], "content": content}


def _assistant(blocks: list[Any], where: str) -> dict[str, Any]:
    texts: list[str] = []
    calls: list[dict[str, Any]] = []
    message: dict[str, Any] = {"role": "assistant"}
    for j, block in enumerate(blocks):
        here = f"{where}.content[{j}]"
        kind = block.get("type") if isinstance(block, Mapping) else None
        if kind == "text" and isinstance(block.get("text"), str):
            texts.append(block["text"])
        elif kind == "thinking" and isinstance(block.get("thinking"), str):
            message["reasoning_content"] = block["thinking"]
            if isinstance(block.get("signature"), str) and block["signature"]:
                message["reasoning"] = {"signature": block["signature"], "text": block["thinking"]}
        elif kind == "tool_use":
            if not isinstance(block.get("id"), str) or not isinstance(block.get("name"), str):
                raise FieldError("messages", f"{here}: a tool_use needs string 'id' and 'name'")
            arguments = json.dumps(block.get("input") or {}, ensure_ascii=False)
            calls.append(
                {
                    "id": block["id"],
                    "type": "function",
                    "function": {"name": block["name"], "arguments": arguments},
                }
            )
        elif kind in ("redacted_thinking", "server_tool_use", "web_search_tool_result"):
            continue
        else:
            raise FieldError("messages", f"{here}: unsupported assistant block type {kind!r}")
    message["content"] = "".join(texts) if texts or not calls else None
    if calls:
        message["tool_calls"] = calls
    return message


def _messages(raw: Any) -> list[dict[str, Any]]:
    if not isinstance(raw, list) or not raw:
        raise FieldError("messages", "messages: required, a non-empty list")
    out: list[dict[str, Any]] = []
    for i, message in enumerate(raw):
        where = f"messages[{i}]"
        if not isinstance(message, Mapping) or message.get("role") not in ("user", "assistant"):
            raise FieldError("messages", f"{where}: needs role 'user' or 'assistant'")
        content = message.get("content")
        if isinstance(content, str):
            out.append({"role": message["role"], "content": content})
            continue
        if not isinstance(content, list):
            raise FieldError("messages", f"{where}: content must be a string or a list of blocks")
        if message["role"] == "assistant":
            out.append(_assistant(content, where))
            continue
        parts: list[dict[str, Any]] = []
        for j, block in enumerate(content):
            here = f"{where}.content[{j}]"
            if not isinstance(block, Mapping):
                raise FieldError("messages", f"{here}: a content block must be an object")
            if block.get("type") == "tool_result":
                out.append(_tool_result(block, here))
            else:
                parts.append(_part(block, here))
        if parts:
            out.append({"role": "user", "content": parts})
    return out


def _system(system: Any) -> str:
    if isinstance(system, str):
        return system
    if isinstance(system, list) and all(
        isinstance(b, Mapping) and b.get("type") == "text" and isinstance(b.get("text"), str)
        for b in system
    ):
        return "\n\n".join(b["text"] for b in system)
    raise FieldError("system", "system: a string or a list of text blocks")


def _tools(tools: list[Any], params: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for i, tool in enumerate(tools):
        if not isinstance(tool, Mapping):
            raise FieldError("tools", f"tools[{i}]: a tool must be an object")
        kind = tool.get("type")
        if isinstance(kind, str) and kind.startswith("web_search"):
            params["web_search"] = True
            continue
        if not isinstance(tool.get("name"), str):
            raise FieldError("tools", f"tools[{i}]: a tool needs a string 'name'")
        schema = tool.get("input_schema") or {"type": "object", "properties": {}}
        function: dict[str, Any] = {"name": tool["name"], "parameters": schema}
        if tool.get("description"):
            function["description"] = tool["description"]
        out.append({"type": "function", "function": function})
    return out


def _tool_choice(choice: Mapping[str, Any]) -> Any:
    kind = choice.get("type")
    if kind in ("auto", "none"):
        return kind
    if kind == "any":
        return "required"
    if kind == "tool" and isinstance(choice.get("name"), str):
        return {"type": "function", "function": {"name": choice["name"]}}
    raise FieldError("tool_choice", "tool_choice: type auto, any, none, or tool with a name")


def parse_request(body: Any, allowed: Collection[str] = ()) -> ChatRequest:
    """Check a Messages request body (`FieldError` names what is wrong)."""
    if not isinstance(body, Mapping):
        raise FieldError("body", "the body must be a JSON object")
    model = body.get("model")
    if not isinstance(model, str):
        raise FieldError("model", "model: Field required (a string)")
    if "max_tokens" not in body:
        raise FieldError("max_tokens", "max_tokens: Field required")
    messages = _messages(body.get("messages"))
    stream = stream_field(body)
    provider = provider_field(body)
    if body.get("system") is not None:
        system = _system(body["system"])
        if system:
            messages.insert(0, {"role": "system", "content": system})
    rest = {
        k: v
        for k, v in body.items()
        if k not in ("model", "messages", "stream", "provider", "system", "cache")
    }
    params = take(rest, KNOWN, IGNORED, allowed)
    if params.get("max_tokens", 1) < 1:
        raise FieldError("max_tokens", "max_tokens: must be at least 1")
    if "stop_sequences" in params:
        params["stop"] = params.pop("stop_sequences")
    if "tools" in params:
        tools = _tools(params.pop("tools"), params)
        if tools:
            params["tools"] = tools
    if "tool_choice" in params:
        choice = _tool_choice(params.pop("tool_choice"))
        if "tools" in params:
            params["tool_choice"] = choice
    thinking = params.pop("thinking", None)
    if thinking is not None and thinking.get("type") == "enabled":
        params["thinking"] = dict(thinking)
    metadata = params.pop("metadata", None)
    if metadata and isinstance(metadata.get("user_id"), str):
        params["user"] = metadata["user_id"]
    return ChatRequest(
        model=model,
        messages=messages,
        stream=bool(stream),
        include_usage=True,
        provider=provider,
        params=params,
        cache=cache_switch(body.get("cache")),
    )
