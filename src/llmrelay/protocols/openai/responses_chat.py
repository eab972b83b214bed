"""OpenAI's Responses API over chat: input items → chat messages, chat chunks → Responses
events and the `Response` object. Pure (no I/O); the client and the gateway share it.

    messages = input_to_messages(input, instructions)
    builder = ResponseBuilder(model, request)                 # request: the Responses fields
    events = builder.start()                                  # response.created, .in_progress
    for chunk in chat_chunks: events += builder.feed(chunk)   # chat.completion.chunk dicts
    events += builder.finish()                                # … response.completed
    builder.response                                          # the `Response` as a dict

Events are dicts in OpenAI's documented shapes with their `sequence_number`: text arrives as
a `message` item (`response.output_text.delta`), each tool call as a `function_call` item
(`response.function_call_arguments.delta`). A finish reason of "length" ends the response
`incomplete` (reason `max_output_tokens`), "content_filter" with reason `content_filter`.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from ...errors import UnsupportedParameterError
from ..fields import FieldError

__all__ = [
    "CHAT_FIELDS",
    "OPENAI_FIELDS",
    "ResponseBuilder",
    "input_to_messages",
    "tool_choice_to_chat",
    "tools_to_chat",
]

#: The Responses fields sent to OpenAI's endpoint as given (besides model, input, stream).
OPENAI_FIELDS = frozenset(
    {"instructions", "tools", "tool_choice", "temperature", "top_p", "max_output_tokens",
     "previous_response_id", "parallel_tool_calls", "store", "metadata", "user", "reasoning",
     "text", "truncation", "include", "service_tier"}
)  # fmt: skip
#: The Responses fields that have a meaning over chat.
CHAT_FIELDS = frozenset(
    {"instructions", "tools", "tool_choice", "temperature", "top_p", "max_output_tokens",
     "parallel_tool_calls", "metadata", "user", "store"}
)  # fmt: skip

_ROLES = {"user": "user", "assistant": "assistant", "system": "system", "developer": "system"}


def _new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"


def _content(content: Any) -> str | list[dict[str, Any]]:
    """A message's content: a string, or Responses parts as chat parts."""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise FieldError("input", "a message's content must be a string or a list of parts")
    parts: list[dict[str, Any]] = []
    for part in content:
        kind = part.get("type") if isinstance(part, Mapping) else None
        if kind in ("input_text", "output_text", "text"):
            parts.append({"type": "text", "text": part.get("text", "")})
        elif kind == "refusal":
            parts.append({"type": "text", "text": part.get("refusal", "")})
        elif kind == "input_image" and isinstance(part.get("image_url"), str):
            image: dict[str, Any] = {"url": part["image_url"]}
            if part.get("detail") in ("low", "high"):
                image["detail"] = part["detail"]
            parts.append({"type": "image_url", "image_url": image})
        else:
            raise UnsupportedParameterError(f"input content of type {kind!r} is not supported")
    if all(p["type"] == "text" for p in parts):
        return "".join(p["text"] for p in parts)
    return parts


def input_to_messages(input: Any, instructions: str | None = None) -> list[dict[str, Any]]:
    """Chat messages for `instructions` and `input` (a string or a list of input items)."""
    messages: list[dict[str, Any]] = []
    if instructions:
        messages.append({"role": "system", "content": instructions})
    if isinstance(input, str):
        return [*messages, {"role": "user", "content": input}]
    if not isinstance(input, list) or not input:
        raise FieldError("input", "input must be a string or a non-empty list of input items")
    for item in input:
        if not isinstance(item, Mapping):
            raise FieldError("input", f"an input item must be an object, not {str(item)[:100]!r}")
        kind = item.get("type", "message")
        if kind == "message":
            role = _ROLES.get(item.get("role", ""))
            if role is None:
                raise FieldError("input", f"unknown message role {item.get('role')!r}")
            messages.append({"role": role, "content": _content(item.get("content"))})
        elif kind == "function_call":
            call = {"id": item.get("call_id"), "type": "function",
                    "function": {"name": item.get("name"),
                                 "arguments": item.get("arguments") or "{}"}}  # fmt: skip
            last = messages[-1] if messages else None
            if last is not None and last["role"] == "assistant":
                last.setdefault("tool_calls", []).append(call)
            else:
                # "" rather than None: llama.cpp's server refuses a null content
                messages.append({"role": "assistant", "content": "", "tool_calls": [call]})
        elif kind == "function_call_output":
            output = item.get("output")
            text = output if isinstance(output, str) else _content(output)
            messages.append({"role": "tool", "tool_call_id": item.get("call_id"), "content": text})
        elif kind == "reasoning":
            continue  # reasoning of an earlier turn: chat has no place for it
        else:
            raise UnsupportedParameterError(f"input items of type {kind!r} are not supported")
    return messages


def tools_to_chat(tools: Sequence[Any] | None) -> list[dict[str, Any]] | None:
    """Responses' flat function tools as chat's nested ones; other tool types are refused."""
    if not tools:
        return None
    chat = []
    for tool in tools:
        kind = tool.get("type") if isinstance(tool, Mapping) else None
        if kind != "function" or not tool.get("name"):
            raise UnsupportedParameterError(f"tools of type {kind!r} are not supported here")
        function = {k: tool[k] for k in ("name", "description", "parameters", "strict")
                    if tool.get(k) is not None}  # fmt: skip
        chat.append({"type": "function", "function": function})
    return chat


def tool_choice_to_chat(choice: Any) -> str | dict[str, Any] | None:
    if choice is None or choice in ("auto", "none", "required"):
        return choice  # type: ignore[no-any-return]
    if isinstance(choice, Mapping) and choice.get("type") == "function" and choice.get("name"):
        return {"type": "function", "function": {"name": choice["name"]}}
    raise UnsupportedParameterError(f"tool_choice {choice!r} is not supported here")


def _usage(usage: Mapping[str, Any]) -> dict[str, Any]:
    prompt = int(usage.get("prompt_tokens") or 0)
    completion = int(usage.get("completion_tokens") or 0)
    cached = (usage.get("prompt_tokens_details") or {}).get("cached_tokens") or 0
    reasoning = (usage.get("completion_tokens_details") or {}).get("reasoning_tokens") or 0
    details = {"cached_tokens": cached, "cache_write_tokens": 0}
    return {"input_tokens": prompt, "input_tokens_details": details,
            "output_tokens": completion, "output_tokens_details": {"reasoning_tokens": reasoning},
            "total_tokens": int(usage.get("total_tokens") or prompt + completion)}  # fmt: skip


class ResponseBuilder:
    """Chat chunks → Responses events and the final `Response` dict (see the module doc)."""

    def __init__(self, model: str, request: Mapping[str, Any] | None = None) -> None:
        request = request or {}
        self.response: dict[str, Any] = {
            "id": _new_id("resp"), "object": "response", "created_at": int(time.time()),
            "status": "in_progress", "error": None, "incomplete_details": None,
            "instructions": request.get("instructions"),
            "max_output_tokens": request.get("max_output_tokens"), "model": model, "output": [],
            "parallel_tool_calls": request.get("parallel_tool_calls", True),
            "previous_response_id": request.get("previous_response_id"),
            "temperature": request.get("temperature"), "tool_choice":
            request.get("tool_choice") or "auto", "tools": list(request.get("tools") or []),
            "top_p": request.get("top_p"), "usage": None, "metadata": request.get("metadata") or {},
            "text": {"format": {"type": "text"}}, "truncation": "disabled",
        }  # fmt: skip
        self._sequence = 0
        self._message: dict[str, Any] | None = None  # the open message item
        self._calls: dict[int, dict[str, Any]] = {}  # open function_call items by chat index
        self._finish: str | None = None

    def _event(self, kind: str, **fields: Any) -> dict[str, Any]:
        event = {"type": kind, "sequence_number": self._sequence, **fields}
        self._sequence += 1
        return event

    def _snapshot(self) -> dict[str, Any]:
        return {**self.response, "output": [dict(item) for item in self.response["output"]]}

    def start(self) -> list[dict[str, Any]]:
        return [self._event("response.created", response=self._snapshot()),
                self._event("response.in_progress", response=self._snapshot())]  # fmt: skip

    def _open(self, item: dict[str, Any]) -> dict[str, Any]:
        self.response["output"].append(item)
        index = len(self.response["output"]) - 1
        return self._event("response.output_item.added", output_index=index, item=dict(item))

    def _index(self, item: dict[str, Any]) -> int:
        return next(i for i, o in enumerate(self.response["output"]) if o is item)

    def _text(self, delta: str) -> list[dict[str, Any]]:
        events = []
        if self._message is None:
            self._message = {"id": _new_id("msg"), "type": "message", "status": "in_progress",
                             "role": "assistant", "content": []}  # fmt: skip
            events.append(self._open(self._message))
            part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
            self._message["content"].append(part)
            events.append(self._event("response.content_part.added",
                                      item_id=self._message["id"],
                                      output_index=self._index(self._message), content_index=0,
                                      part=dict(part)))  # fmt: skip
        self._message["content"][0]["text"] += delta
        events.append(self._event("response.output_text.delta", item_id=self._message["id"],
                                  output_index=self._index(self._message), content_index=0,
                                  delta=delta, logprobs=[]))  # fmt: skip
        return events

    def _close_message(self) -> list[dict[str, Any]]:
        item, self._message = self._message, None
        if item is None:
            return []
        index, part = self._index(item), item["content"][0]
        item["status"] = "completed"
        return [
            self._event("response.output_text.done", item_id=item["id"], output_index=index,
                        content_index=0, text=part["text"], logprobs=[]),
            self._event("response.content_part.done", item_id=item["id"], output_index=index,
                        content_index=0, part=dict(part)),
            self._event("response.output_item.done", output_index=index, item=dict(item)),
        ]  # fmt: skip

    def _call(self, fragment: Mapping[str, Any]) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        index = int(fragment.get("index") or 0)
        function = fragment.get("function") or {}
        item = self._calls.get(index)
        if item is None:
            events += self._close_message()
            item = {"id": _new_id("fc"), "type": "function_call", "status": "in_progress",
                    "call_id": fragment.get("id") or _new_id("call"),
                    "name": function.get("name") or "", "arguments": ""}  # fmt: skip
            self._calls[index] = item
            events.append(self._open(item))
        elif function.get("name"):
            item["name"] += function["name"]
        arguments = function.get("arguments") or ""
        if arguments:
            item["arguments"] += arguments
            events.append(self._event("response.function_call_arguments.delta",
                                      item_id=item["id"], output_index=self._index(item),
                                      delta=arguments))  # fmt: skip
        return events

    def _close_calls(self) -> list[dict[str, Any]]:
        events = []
        for item in self._calls.values():
            item["status"] = "completed"
            index = self._index(item)
            events.append(self._event("response.function_call_arguments.done",
                                      item_id=item["id"], output_index=index, name=item["name"],
                                      arguments=item["arguments"]))  # fmt: skip
            events.append(self._event("response.output_item.done", output_index=index,
                                      item=dict(item)))  # fmt: skip
        self._calls = {}
        return events

    def feed(self, chunk: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The events of one `chat.completion.chunk` (as a dict)."""
        events: list[dict[str, Any]] = []
        for choice in chunk.get("choices") or ():
            delta = choice.get("delta") or {}
            if delta.get("content"):
                events += self._text(delta["content"])
            for fragment in delta.get("tool_calls") or ():
                events += self._call(fragment)
            if choice.get("finish_reason"):
                self._finish = choice["finish_reason"]
        if chunk.get("usage"):
            self.response["usage"] = _usage(chunk["usage"])
        return events

    def finish(self) -> list[dict[str, Any]]:
        """Close the open items; `response.completed` (or `response.incomplete`)."""
        events = self._close_message() + self._close_calls()
        reason = {"length": "max_output_tokens", "content_filter": "content_filter"}.get(
            self._finish or ""
        )
        if reason is None:
            self.response["status"] = "completed"
            return [*events, self._event("response.completed", response=self._snapshot())]
        self.response["status"] = "incomplete"
        self.response["incomplete_details"] = {"reason": reason}
        return [*events, self._event("response.incomplete", response=self._snapshot())]

    def fail(self, message: str, code: str | None = None) -> list[dict[str, Any]]:
        """The `error` event for an upstream failure mid-response (`code`: free text, e.g. the
        error's class), then `response.failed` (whose error code is OpenAI's server_error)."""
        self.response["status"] = "failed"
        self.response["error"] = {"code": "server_error", "message": message}
        return [self._event("error", code=code, message=message, param=None),
                self._event("response.failed", response=self._snapshot())]  # fmt: skip
