"""Anthropic Messages API responses, I/O-free: stream events and whole messages as chunks.

`StreamParser` turns the stream's events into llmrelay chunks; `parse_message` does the same for
a whole (non-streamed) message by feeding it through the same parser.

Usage: OpenAI's `prompt_tokens` counts every input token, cached or not, so it is
`input_tokens + cache_creation_input_tokens + cache_read_input_tokens` (Anthropic's `input_tokens`
excludes both cache counts); the three raw counts are kept on the `Usage` chunk too.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ...errors import ResponseError
from ...providers.response import FinishReason, Reasoning, ResponseType, Sources, ToolCalls, Usage
from ...providers.shapes import upstream_shape

__all__ = ["STOP_REASONS", "StreamParser", "parse_message", "usage_chunk"]

STOP_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}

Chunk = str | ResponseType
Block = dict[str, Any]


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def usage_chunk(raw: Mapping[str, Any]) -> Usage:
    """Anthropic's usage in OpenAI's terms (see the module docstring)."""
    fresh, created = _count(raw.get("input_tokens")), _count(raw.get("cache_creation_input_tokens"))
    read, completion = _count(raw.get("cache_read_input_tokens")), _count(raw.get("output_tokens"))
    prompt = fresh + created + read
    return Usage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        total_tokens=prompt + completion,
        input_tokens=fresh,
        cache_creation_input_tokens=created,
        cache_read_input_tokens=read,
        prompt_tokens_details={"cached_tokens": read},
    )


class StreamParser:
    """Turns the events of a Messages stream (`data` objects) into llmrelay chunks.

    Text and thinking are yielded as they come; a thinking block's signature as a final
    `Reasoning(signature=…)` when the block ends; tool calls (their `input_json_delta`
    fragments joined), sources, the finish reason and usage once, at `message_delta`.
    `done` turns True at `message_stop`, the stream's end marker.
    """

    __slots__ = ("_blocks", "_cited", "_finished", "_found", "_stop_reason", "_usage", "done")

    def __init__(self) -> None:
        self._blocks: dict[int, Block] = {}
        self._cited: dict[str, dict[str, str]] = {}  # url -> source, from citations
        self._found: dict[str, dict[str, str]] = {}  # url -> source, from search results
        self._usage: dict[str, Any] = {}
        self._stop_reason: str | None = None
        self._finished = False
        self.done = False

    @upstream_shape("an Anthropic stream event")
    def feed(self, data: Mapping[str, Any]) -> list[Chunk]:
        kind = data.get("type")
        if kind == "content_block_delta":
            return self._delta(data.get("index", 0), data.get("delta") or {})
        if kind == "content_block_start":
            return self._start(data.get("index", 0), data.get("content_block") or {})
        if kind == "content_block_stop":
            return self._stop(data.get("index", 0))
        if kind == "message_start":
            message = data.get("message") or {}
            self._usage.update(message.get("usage") or {})
            out: list[Chunk] = []
            for i, block in enumerate(message.get("content") or ()):  # whole messages
                out += self._start(i, block) + self._stop(i)
            return out
        if kind == "message_delta":
            usage = data.get("usage") or {}
            self._usage.update((k, v) for k, v in usage.items() if v is not None)
            self._stop_reason = (data.get("delta") or {}).get("stop_reason") or self._stop_reason
            return self._final()
        if kind == "message_stop":
            self.done = True
            return self._final()
        return []  # ping, and event types added after this was written

    def _start(self, index: int, block: Mapping[str, Any]) -> list[Chunk]:
        state = dict(block)
        self._blocks[index] = state
        kind = block.get("type")
        if kind == "tool_use":
            state["json"] = []
        elif kind == "web_search_tool_result" and isinstance(block.get("content"), list):
            for result in block["content"]:
                if isinstance(result, Mapping) and result.get("url"):
                    self._found.setdefault(result["url"], _source(result))
        self._cite(block.get("citations"))
        if kind == "text" and block.get("text"):
            return [block["text"]]
        if kind == "thinking" and block.get("thinking"):
            return [Reasoning(token=block["thinking"])]
        return []

    def _delta(self, index: int, delta: Mapping[str, Any]) -> list[Chunk]:
        kind = delta.get("type")
        block = self._blocks.setdefault(index, {"type": "text"})
        if kind == "text_delta" and delta.get("text"):
            return [delta["text"]]
        if kind == "thinking_delta" and delta.get("thinking"):
            return [Reasoning(token=delta["thinking"])]
        if kind == "signature_delta":
            block["signature"] = block.get("signature", "") + (delta.get("signature") or "")
        elif kind == "input_json_delta" and "json" in block:
            block["json"].append(delta.get("partial_json") or "")
        elif kind == "citations_delta":
            self._cite([delta.get("citation")])
        return []

    def _stop(self, index: int) -> list[Chunk]:
        block = self._blocks.get(index) or {}
        if block.get("type") == "thinking" and block.get("signature"):
            return [Reasoning(signature=block["signature"])]
        return []

    def _cite(self, citations: Any) -> None:
        for citation in citations or ():
            if isinstance(citation, Mapping) and isinstance(citation.get("url"), str):
                self._cited.setdefault(citation["url"], _source(citation))

    def _final(self) -> list[Chunk]:
        if self._finished:
            return []
        self._finished = True
        out: list[Chunk] = []
        calls = [_tool_call(b) for _, b in sorted(self._blocks.items()) if "json" in b]
        if calls:
            out.append(ToolCalls(calls))
        sources = self._cited or self._found
        if sources:
            out.append(Sources(list(sources.values())))
        reason = STOP_REASONS.get(self._stop_reason or "", "stop")
        out.append(FinishReason("tool_calls" if calls and reason == "stop" else reason))
        if self._usage:
            out.append(usage_chunk(self._usage))
        return out


def _source(item: Mapping[str, Any]) -> dict[str, str]:
    return {"url": item["url"], "title": item.get("title") or ""}


def _tool_call(block: Mapping[str, Any]) -> dict[str, Any]:
    arguments = "".join(block["json"]) or json.dumps(block.get("input") or {})
    return {"id": block.get("id") or "", "type": "function",
            "function": {"name": block.get("name") or "", "arguments": arguments}}  # fmt: skip


@upstream_shape("an Anthropic message")
def parse_message(data: Mapping[str, Any]) -> list[Chunk]:
    """The chunks of a whole (non-streamed) `message`."""
    if data.get("type") != "message" or not isinstance(data.get("content"), list):
        raise ResponseError(f"the response is not a message: {str(dict(data))[:200]}")
    parser = StreamParser()
    out = parser.feed({"type": "message_start", "message": data})
    return out + parser.feed({"type": "message_delta", "delta": data})
