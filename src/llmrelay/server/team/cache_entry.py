"""Response cache entries: a complete answer as stored, and back into the client layer's
objects, so a hit goes through the same assembler and surface encoders as a live answer.

An entry is JSON: `model`, `provider`, `text`, `reasoning`, `tool_calls` (OpenAI's shape),
`finish`, `usage` (OpenAI's field names) and `at` (epoch seconds, when it was stored). It is
built from a `ChatCompletion` (an answer that was not streamed) or from the chunks of a stream
(`Capture`); it is replayed as the provider chunks an `Answer` assembles.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import TYPE_CHECKING, Any

from ...client.assemble import Answer, assemble_chunks
from ...jsonio import dumps, loads
from ...providers.response import FinishReason, Reasoning, ResponseType, ToolCalls, Usage

if TYPE_CHECKING:
    from ...client.types import ChatCompletion, ChatCompletionChunk

__all__ = ["Capture", "chunks_of", "completion_of", "decode", "encode", "of_completion"]

log = logging.getLogger("llmrelay.server.team")
Entry = dict[str, Any]
#: Answers worth keeping: complete ones (a content filter's verdict is not kept: it may be
#: a transient moderation decision, and an hour of refusals is worse than a second call).
_KEPT = ("stop", "length", "tool_calls")


def of_completion(completion: ChatCompletion) -> Entry:
    choice = completion.choices[0]
    message = choice.message
    usage = completion.usage
    return {
        "model": completion.model,
        "provider": completion.provider,
        "text": message.content,
        "reasoning": message.reasoning_content,
        "tool_calls": [call.model_dump() for call in message.tool_calls or ()],
        "finish": choice.finish_reason,
        "usage": usage.model_dump() if usage is not None else None,
    }


class Capture:
    """A stream's chunks gathered into an entry; `done()` hands it on once the stream ended
    normally (a cut or failed stream never reaches it)."""

    __slots__ = ("_keep", "calls", "finish", "model", "provider", "reasoning", "text", "usage")

    def __init__(self, keep: Callable[[Entry], Awaitable[None]]) -> None:
        self._keep = keep
        self.text: list[str] = []
        self.reasoning: list[str] = []
        self.calls: list[dict[str, Any]] = []
        self.finish: str | None = None
        self.usage: Any = None
        self.model = ""
        self.provider: str | None = None

    def add(self, chunk: ChatCompletionChunk) -> None:
        if chunk.usage is not None:
            self.usage = chunk.usage
        if not chunk.choices:
            return
        choice = chunk.choices[0]
        delta = choice.delta
        if delta.content:
            self.text.append(delta.content)
        if delta.reasoning_content:
            self.reasoning.append(delta.reasoning_content)
        for call in delta.tool_calls or ():
            function = call.function
            self.calls.append({
                "id": call.id or "", "type": "function",
                "function": {"name": function.name if function else "",
                             "arguments": function.arguments if function else ""},
            })  # fmt: skip
        if choice.finish_reason is not None:
            self.finish = choice.finish_reason
            self.model, self.provider = chunk.model, chunk.provider

    async def done(self) -> None:
        await self._keep(
            {
                "model": self.model,
                "provider": self.provider,
                "text": "".join(self.text) if self.text or not self.calls else None,
                "reasoning": "".join(self.reasoning) or None,
                "tool_calls": self.calls,
                "finish": self.finish,
                "usage": self.usage.model_dump() if self.usage is not None else None,
            }
        )


def encode(entry: Entry) -> str | None:
    """The entry as stored, or None when it is not worth keeping (incomplete or empty)."""
    if entry["finish"] not in _KEPT or not (entry["text"] or entry["tool_calls"]):
        return None
    return dumps({**entry, "at": time.time()}).decode()


def decode(text: str | None, max_age: float | None = None) -> Entry | None:
    """A stored entry (None: absent, unreadable, or older than `max_age` seconds)."""
    if text is None:
        return None
    try:
        entry = loads(text)
        fresh = max_age is None or time.time() - float(entry["at"]) <= max_age
        return entry if fresh and entry["finish"] in _KEPT else None
    except (ValueError, KeyError, TypeError):
        log.warning("a response cache entry is unreadable; answered as a miss")
        return None


def _replay(entry: Entry, stream: bool) -> tuple[list[str | ResponseType], Answer]:
    """The provider chunks that make the entry's answer, and the `Answer` to assemble them."""
    answer = Answer(str(entry["model"]), stream=stream)
    answer.provider = entry["provider"]
    items: list[str | ResponseType] = []
    if entry["reasoning"]:
        items.append(Reasoning(token=entry["reasoning"]))
    if entry["text"]:
        items.append(entry["text"])
    if entry["tool_calls"]:
        items.append(ToolCalls(entry["tool_calls"]))
    items.append(FinishReason(entry["finish"]))
    if entry["usage"]:
        items.append(Usage(**entry["usage"]))
    return items, answer


def completion_of(entry: Entry) -> ChatCompletion:
    """The entry as a fresh `ChatCompletion` (its own id and time)."""
    items, answer = _replay(entry, stream=False)
    for item in items:
        answer.add(item)
    return answer.completion()


def chunks_of(entry: Entry, include_usage: bool) -> AsyncGenerator[ChatCompletionChunk, None]:
    """The entry as the chunks of a stream, assembled as a live stream is."""

    async def start() -> tuple[AsyncGenerator[str | ResponseType, None], Answer]:
        items, answer = _replay(entry, stream=True)

        async def source() -> AsyncGenerator[str | ResponseType, None]:
            for item in items:
                yield item

        return source(), answer

    return assemble_chunks(start, include_usage=include_usage)
