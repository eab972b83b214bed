"""Gemini `GenerateContentResponse` objects (a whole answer, or the events of
`streamGenerateContent?alt=sse`) as llmrelay chunks, I/O-free. The choices about ids, thought
signatures, usage and safety are described in `upstream_request`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ...errors import ContentFilterError, IncompleteResponseError, ResponseError
from ...providers.response import (
    FinishReason,
    ImageResponse,
    Reasoning,
    ResponseType,
    Sources,
    ToolCalls,
    Usage,
)
from ...providers.shapes import upstream_shape

__all__ = ["ResponseParser", "usage_chunk"]

Chunk = str | ResponseType
_FILTERED = frozenset({"SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII",
                       "IMAGE_SAFETY", "IMAGE_PROHIBITED_CONTENT", "IMAGE_RECITATION",
                       "MODEL_ARMOR"})  # fmt: skip
_FAILED = frozenset({"MALFORMED_FUNCTION_CALL", "UNEXPECTED_TOOL_CALL", "TOO_MANY_TOOL_CALLS",
                     "MISSING_THOUGHT_SIGNATURE", "MALFORMED_RESPONSE", "OTHER", "LANGUAGE",
                     "IMAGE_OTHER", "NO_IMAGE"})  # fmt: skip


def _count(meta: Mapping[str, Any], key: str) -> int:
    value = meta.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def usage_chunk(meta: Mapping[str, Any]) -> Usage:
    """`usageMetadata` in OpenAI's terms (see the module docstring)."""
    prompt = _count(meta, "promptTokenCount") + _count(meta, "toolUsePromptTokenCount")
    thoughts = _count(meta, "thoughtsTokenCount")
    completion = _count(meta, "candidatesTokenCount") + thoughts
    return Usage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        total_tokens=_count(meta, "totalTokenCount") or prompt + completion,
        prompt_tokens_details={"cached_tokens": _count(meta, "cachedContentTokenCount")},
        completion_tokens_details={"reasoning_tokens": thoughts},
    )


class ResponseParser:
    """`GenerateContentResponse` objects → chunks. `feed` each; then `close` yields the tool
    calls, finish reason and usage, or raises if the answer is cut, blocked or failed."""

    def __init__(self, provider: str | None = None) -> None:
        self.provider = provider
        self.finish_reason: str | None = None
        self._finish_message: str | None = None
        self._usage: Mapping[str, Any] | None = None
        self._calls: list[dict[str, Any]] = []
        self._sources: set[str] = set()
        self._answered = False  # text, an image or a call was seen
        self._candidates = False

    def _blocked(self, message: str) -> ContentFilterError:
        return ContentFilterError(message, provider=self.provider)

    @upstream_shape("a Gemini response")
    def feed(self, data: Mapping[str, Any]) -> list[Chunk]:
        feedback = data.get("promptFeedback") or {}
        if feedback.get("blockReason"):
            detail = feedback.get("blockReasonMessage")
            raise self._blocked(
                f"Gemini blocked the prompt (blockReason {feedback['blockReason']})"
                + (f": {detail}" if detail else "")
            )
        if isinstance(data.get("usageMetadata"), Mapping):
            self._usage = data["usageMetadata"]
        out: list[Chunk] = []
        for candidate in (data.get("candidates") or ())[:1]:
            self._candidates = True
            for part in (candidate.get("content") or {}).get("parts") or ():
                out += self._part(part)
            out += self._grounding(candidate.get("groundingMetadata"))
            if candidate.get("finishReason"):
                self.finish_reason = str(candidate["finishReason"])
                self._finish_message = candidate.get("finishMessage")
        return out

    def _part(self, part: Mapping[str, Any]) -> list[Chunk]:
        out: list[Chunk] = []
        signature = part.get("thoughtSignature")
        text = part.get("text")
        if part.get("thought"):
            if text:
                out.append(Reasoning(token=text))
        elif text:
            self._answered = True
            out.append(text)
        elif isinstance(part.get("functionCall"), Mapping):
            self._answered = True
            call = part["functionCall"]
            entry: dict[str, Any] = {
                "id": call.get("id") or f"call_{len(self._calls)}",
                "type": "function",
                "function": {
                    "name": call.get("name") or "",
                    "arguments": json.dumps(call.get("args") or {}, ensure_ascii=False),
                },
            }
            if signature:
                entry["extra_content"] = {"google": {"thought_signature": signature}}
            self._calls.append(entry)
        elif isinstance(part.get("inlineData"), Mapping):
            self._answered = True
            blob = part["inlineData"]
            out.append(ImageResponse([f"data:{blob.get('mimeType')};base64,{blob.get('data')}"]))
        if signature:
            out.append(Reasoning(signature=signature))
        return out

    def _grounding(self, metadata: Any) -> list[Chunk]:
        if not isinstance(metadata, Mapping):
            return []
        found = []
        for chunk in metadata.get("groundingChunks") or ():
            web = chunk.get("web") if isinstance(chunk, Mapping) else None
            if isinstance(web, Mapping) and web.get("uri") and web["uri"] not in self._sources:
                self._sources.add(web["uri"])
                found.append({"url": web["uri"], "title": web.get("title") or ""})
        return [Sources(found)] if found else []

    def close(self, *, whole: bool = False) -> list[Chunk]:
        """The closing chunks. `whole`: a `generateContent` answer (not a stream), complete
        even without a finishReason."""
        reason = self.finish_reason
        if reason is None and not whole:
            raise IncompleteResponseError(
                "the stream ended before Gemini sent a finishReason", provider=self.provider
            )
        if whole and not self._candidates:
            raise ResponseError("Gemini's answer has no candidates", provider=self.provider)
        detail = f": {self._finish_message}" if self._finish_message else ""
        if reason in _FILTERED and not self._answered:
            raise self._blocked(f"Gemini blocked the answer (finishReason {reason}){detail}")
        if reason in _FAILED and not self._answered:
            raise ResponseError(f"Gemini gave no answer (finishReason {reason}){detail}",
                                provider=self.provider)  # fmt: skip
        out: list[Chunk] = []
        if self._calls:
            out.append(ToolCalls(self._calls))
            self._calls = []
        if reason == "MAX_TOKENS":
            finish = "length"
        elif reason in _FILTERED:
            finish = "content_filter"
        else:
            finish = "tool_calls" if out else "stop"
        out.append(FinishReason(finish))
        if self._usage is not None:
            out.append(usage_chunk(self._usage))
        return out
