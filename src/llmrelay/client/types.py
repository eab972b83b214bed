"""Response objects shaped like the OpenAI SDK's (`choices[0].message.content`, `.delta`, …).

Plain slotted dataclasses: cheap to build for every streamed chunk. `model_dump()` returns
the same dict the OpenAI SDK's objects give, plus llmrelay's extras (`provider`,
`conversation`, `reasoning_content`, `images`) where set; `to_json()` serialises it.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, Literal

__all__ = [
    "ChatCompletion",
    "ChatCompletionChunk",
    "ChatCompletionMessage",
    "ChatCompletionMessageToolCall",
    "Choice",
    "ChoiceDelta",
    "ChoiceDeltaToolCall",
    "ChunkChoice",
    "CompletionUsage",
    "Function",
    "Image",
    "ImagesResponse",
    "Model",
    "ModelList",
    "text_chunk",
]

# Extras that the OpenAI SDK's objects do not have: dropped from model_dump() while None.
_EXTRAS = frozenset(
    {"provider", "conversation", "reasoning_content", "images", "sources", "extra_content", "path"}
)


def _dump(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: _dump(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if not (f.name in _EXTRAS and getattr(value, f.name) is None)
        }
    if isinstance(value, list):
        return [_dump(v) for v in value]
    if isinstance(value, dict):
        return {k: _dump(v) for k, v in value.items()}
    get_dict = getattr(value, "get_dict", None)
    return get_dict() if callable(get_dict) else value


class _Model:
    """`model_dump()` / `to_json()` / `to_dict()` for every response object."""

    __slots__ = ()

    def model_dump(self) -> dict[str, Any]:
        return _dump(self)  # type: ignore[no-any-return]

    to_dict = model_dump

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.model_dump(), indent=indent, default=str)


@dataclasses.dataclass(slots=True)
class Function(_Model):
    name: str
    arguments: str


@dataclasses.dataclass(slots=True)
class ChatCompletionMessageToolCall(_Model):
    id: str
    function: Function
    type: Literal["function"] = "function"
    #: Provider data to send back with the call (Gemini's thought signature), as Google's
    #: OpenAI-compatible API puts it.
    extra_content: dict[str, Any] | None = None


@dataclasses.dataclass(slots=True)
class ChoiceDeltaToolCall(_Model):
    index: int
    id: str | None = None
    function: Function | None = None
    type: Literal["function"] | None = "function"


@dataclasses.dataclass(slots=True)
class CompletionUsage(_Model):
    completion_tokens: int = 0
    prompt_tokens: int = 0
    total_tokens: int = 0
    completion_tokens_details: dict[str, Any] | None = None
    prompt_tokens_details: dict[str, Any] | None = None

    @classmethod
    def from_chunk(cls, usage: Any) -> CompletionUsage:
        """From a `Usage` chunk (which may lack fields or carry provider-specific ones)."""
        data = usage.get_dict()
        prompt = int(data.get("prompt_tokens") or 0)
        completion = int(data.get("completion_tokens") or 0)
        return cls(
            completion_tokens=completion,
            prompt_tokens=prompt,
            total_tokens=int(data.get("total_tokens") or prompt + completion),
            completion_tokens_details=data.get("completion_tokens_details"),
            prompt_tokens_details=data.get("prompt_tokens_details"),
        )


@dataclasses.dataclass(slots=True)
class ChatCompletionMessage(_Model):
    content: str | None
    role: Literal["assistant"] = "assistant"
    refusal: str | None = None
    tool_calls: list[ChatCompletionMessageToolCall] | None = None
    function_call: Any = None
    reasoning_content: str | None = None
    images: list[str] | None = None

    @property
    def reasoning(self) -> str | None:
        """`reasoning_content` by the name g4f 0.6 uses."""
        return self.reasoning_content


@dataclasses.dataclass(slots=True)
class Choice(_Model):
    index: int
    message: ChatCompletionMessage
    finish_reason: str | None
    logprobs: Any = None


@dataclasses.dataclass(slots=True)
class ChatCompletion(_Model):
    id: str
    choices: list[Choice]
    created: int
    model: str
    object: Literal["chat.completion"] = "chat.completion"
    usage: CompletionUsage | None = None
    system_fingerprint: str | None = None
    provider: str | None = None
    conversation: Any = None
    sources: list[dict[str, str]] | None = None


@dataclasses.dataclass
class ChoiceDelta(_Model):
    content: str | None = None
    role: Literal["assistant"] | None = None
    refusal: str | None = None
    tool_calls: list[ChoiceDeltaToolCall] | None = None
    function_call: Any = None
    reasoning_content: str | None = None
    images: list[str] | None = None

    @property
    def reasoning(self) -> str | None:
        """`reasoning_content` by the name g4f 0.6 uses."""
        return self.reasoning_content


@dataclasses.dataclass
class ChunkChoice(_Model):
    index: int
    delta: ChoiceDelta
    finish_reason: str | None = None
    logprobs: Any = None


@dataclasses.dataclass
class ChatCompletionChunk(_Model):
    id: str
    choices: list[ChunkChoice]
    created: int
    model: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    usage: CompletionUsage | None = None
    system_fingerprint: str | None = None
    provider: str | None = None
    conversation: Any = None
    sources: list[dict[str, str]] | None = None


@dataclasses.dataclass(slots=True)
class Model(_Model):
    id: str
    created: int = 0
    owned_by: str = ""
    object: Literal["model"] = "model"


@dataclasses.dataclass(slots=True)
class ModelList(_Model):
    data: list[Model]
    object: Literal["list"] = "list"

    def __iter__(self) -> Any:
        return iter(self.data)


@dataclasses.dataclass(slots=True)
class Image(_Model):
    url: str | None = None
    b64_json: str | None = None
    revised_prompt: str | None = None
    #: Where `save_to=` wrote the image (llmrelay's extra).
    path: str | None = None


@dataclasses.dataclass(slots=True)
class ImagesResponse(_Model):
    created: int
    data: list[Image]
    provider: str | None = None


def text_chunk(
    id: str, created: int, model: str, provider: str | None, content: str
) -> ChatCompletionChunk:
    """A streamed text chunk, built for the hot path: the three streaming classes are plain
    dataclasses (no slots), so fields not set here read their class defaults."""
    delta: ChoiceDelta = _new(ChoiceDelta)
    delta.content = content
    choice: ChunkChoice = _new(ChunkChoice)
    choice.index, choice.delta = 0, delta
    chunk: ChatCompletionChunk = _new(ChatCompletionChunk)
    chunk.id, chunk.choices, chunk.created, chunk.model, chunk.provider = (
        id, [choice], created, model, provider)  # fmt: skip
    return chunk


_new: Any = object.__new__
