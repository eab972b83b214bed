"""Provider chunks → OpenAI-shaped objects: one `ChatCompletionChunk` per chunk while
streaming, or one `ChatCompletion` for the whole answer."""

from __future__ import annotations

import os
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import aclosing
from typing import Any

from ..providers.response import (
    FinishReason,
    JsonConversation,
    MediaResponse,
    ProviderInfo,
    Reasoning,
    ResponseType,
    Sources,
    ToolCalls,
    Usage,
)
from .types import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionMessage,
    ChatCompletionMessageToolCall,
    Choice,
    ChoiceDelta,
    ChoiceDeltaToolCall,
    ChunkChoice,
    CompletionUsage,
    Function,
    text_chunk,
)

__all__ = ["Answer", "assemble_chunks"]


def _tool_call(call: dict[str, Any]) -> ChatCompletionMessageToolCall:
    function = call.get("function") or {}
    return ChatCompletionMessageToolCall(
        id=str(call.get("id") or ""),
        function=Function(name=str(function.get("name") or ""), arguments=_args(function)),
        extra_content=call.get("extra_content"),
    )


def _args(function: dict[str, Any]) -> str:
    arguments = function.get("arguments")
    if arguments is None:
        return "{}"
    if isinstance(arguments, str):
        return arguments
    import json

    return json.dumps(arguments)  # some APIs give arguments as an object


class Answer:
    """Everything a stream said, gathered for a `ChatCompletion` (and for client-side
    conversation history)."""

    def __init__(
        self,
        model: str,
        provider: Any = None,
        *,
        stream: bool = True,
        max_tokens: int | None = None,
    ) -> None:
        self.id = f"chatcmpl-{os.urandom(12).hex()}"
        #: Whether `add` builds the streaming object for each chunk (not needed otherwise).
        self.stream = stream
        self.created = int(time.time())
        self.model = model
        #: The provider class, read once for the name and the model it resolved.
        self._source = provider
        self.text: list[str] = []
        self.reasoning: list[str] = []
        self.tool_calls: list[ChatCompletionMessageToolCall] = []
        self.images: list[str] = []
        self.sources: list[dict[str, str]] = []
        self.finish_reason: str | None = None
        self.usage: CompletionUsage | None = None
        self.provider: str | None = getattr(provider, "__name__", None)
        self.conversation: Any = None
        #: At most this many text chunks are taken (as g4f's client: a guard for providers
        #: that ignore `max_tokens`); then `capped` is set and the answer ends with "length".
        self.max_chunks = max_tokens
        self.capped = False

    def add(self, chunk: str | ResponseType) -> ChatCompletionChunk | None:
        """Record `chunk`; return the streaming object for it (None when it carries nothing
        to stream on its own)."""
        if self._source is not None:  # the provider resolved its model before its first chunk
            self.model = getattr(self._source, "last_model", None) or self.model
            self._source = None
        if isinstance(chunk, str):
            if not chunk or self.capped:
                return None
            self.text.append(chunk)
            if self.max_chunks is not None and len(self.text) >= self.max_chunks:
                self.capped = True
                self.finish_reason = "length"
            if not self.stream:
                return None
            return text_chunk(self.id, self.created, self.model, self.provider, chunk)
        if isinstance(chunk, Reasoning):
            token = chunk.token or chunk.is_thinking or ""
            if not token:
                return None
            self.reasoning.append(token)
            return self._chunk(ChoiceDelta(reasoning_content=token))
        if isinstance(chunk, ToolCalls):
            calls = [_tool_call(c) for c in chunk.get_list()]
            self.tool_calls.extend(calls)
            deltas = [
                ChoiceDeltaToolCall(index=i, id=c.id, function=c.function)
                for i, c in enumerate(calls)
            ]
            return self._chunk(ChoiceDelta(tool_calls=deltas))
        if isinstance(chunk, FinishReason):
            if self.capped:
                return None
            self.finish_reason = chunk.reason
            return self.finish_chunk(chunk.reason)
        if isinstance(chunk, Usage):
            self.usage = CompletionUsage.from_chunk(chunk)
            return None
        if isinstance(chunk, MediaResponse):
            urls = chunk.get_list()
            self.images.extend(urls)
            rendered = str(chunk)
            self.text.append(rendered)
            return self._chunk(ChoiceDelta(content=rendered, images=urls))
        if isinstance(chunk, ProviderInfo):
            self.provider = chunk.name
            if chunk.model:
                self.model = chunk.model
        elif isinstance(chunk, JsonConversation):
            self.conversation = chunk
        elif isinstance(chunk, Sources):
            self.sources.extend(chunk.list)
        return None

    def _chunk(
        self, delta: ChoiceDelta, finish_reason: str | None = None
    ) -> ChatCompletionChunk | None:
        if not self.stream:
            return None
        return ChatCompletionChunk(
            id=self.id,
            choices=[ChunkChoice(index=0, delta=delta, finish_reason=finish_reason)],
            created=self.created,
            model=self.model,
            provider=self.provider,
        )

    def finish_chunk(self, reason: str) -> ChatCompletionChunk | None:
        return self._chunk(ChoiceDelta(), finish_reason=reason)

    def final_chunk(self) -> ChatCompletionChunk:
        """The closing chunk: no choices, the usage, conversation and sources (as OpenAI's
        `include_usage` chunk)."""
        return ChatCompletionChunk(
            id=self.id,
            choices=[],
            created=self.created,
            model=self.model,
            usage=self.usage,
            provider=self.provider,
            conversation=self.conversation,
            sources=self.sources or None,
        )

    def completion(self) -> ChatCompletion:
        message = ChatCompletionMessage(
            content="".join(self.text) if self.text or not self.tool_calls else None,
            tool_calls=self.tool_calls or None,
            reasoning_content="".join(self.reasoning) or None,
            images=self.images or None,
        )
        finish = self.finish_reason or ("tool_calls" if self.tool_calls else "stop")
        return ChatCompletion(
            id=self.id,
            choices=[Choice(index=0, message=message, finish_reason=finish)],
            created=self.created,
            model=self.model,
            usage=self.usage,
            provider=self.provider,
            conversation=self.conversation,
            sources=self.sources or None,
        )


async def assemble_chunks(
    start: Callable[[], Awaitable[tuple[AsyncGenerator[str | ResponseType, None], Answer]]],
    *,
    include_usage: bool = False,
    on_end: Callable[[Answer], None] | None = None,
) -> AsyncGenerator[ChatCompletionChunk, None]:
    """Stream the chunks that `start()` opens as `ChatCompletionChunk`s (one generator frame
    between the provider and the caller).

    Every chunk has one choice, as OpenAI streams without `include_usage`: the finishing chunk
    is held to the end of the stream and carries the usage, conversation and sources. With
    `include_usage`, a last chunk without choices repeats the usage, as OpenAI's does.
    """
    chunks, answer = await start()
    finishing = None
    async with aclosing(chunks) as source:
        async for chunk in source:
            item = answer.add(chunk)
            if item is None:
                continue
            if item.choices[0].finish_reason is not None:
                finishing = item
            else:
                yield item
            if answer.capped:
                break
    if on_end is not None:
        on_end(answer)
    if finishing is None:
        finishing = answer.finish_chunk(
            answer.finish_reason or ("tool_calls" if answer.tool_calls else "stop")
        )
    assert finishing is not None  # assemble_chunks is only used with a streaming Answer
    finishing.usage = answer.usage
    finishing.conversation = answer.conversation
    finishing.sources = answer.sources or None
    finishing.provider = answer.provider
    yield finishing
    if include_usage:
        yield answer.final_chunk()
