"""`<think>…</think>` in answer text → `Reasoning` chunks, for any split of the stream.

Models such as DeepSeek-R1's distills and Qwen3, served through Ollama, llama.cpp, vLLM and
other OpenAI-compatible servers, put their thinking in the content between these tags.
`ThinkTags` is a small streaming splitter: feed it each text chunk, and it returns the text
and `Reasoning` pieces, holding back only what might be the start of a tag.
"""

from __future__ import annotations

from typing import Any

from .response import Reasoning

__all__ = ["ThinkTags"]

OPEN, CLOSE = "<think>", "</think>"


def _partial_tag(text: str, tag: str) -> int:
    """The length of the longest end of `text` that begins `tag`."""
    for size in range(min(len(tag) - 1, len(text)), 0, -1):
        if text.endswith(tag[:size]):
            return size
    return 0


class ThinkTags:
    """Splits a stream of text into answer text and `Reasoning`."""

    __slots__ = ("_after_close", "_held", "_inside")

    def __init__(self) -> None:
        self._held = ""
        self._inside = False
        self._after_close = False  # strip the blank lines models put after their thinking

    def feed(self, text: str) -> list[str | Reasoning]:
        if not self._held and not self._inside and "<" not in text:
            text = self._text(text)
            return [text] if text else []
        out: list[str | Reasoning] = []
        text, self._held = self._held + text, ""
        while text:
            tag = CLOSE if self._inside else OPEN
            at = text.find(tag)
            if at < 0:
                keep = _partial_tag(text, tag)
                self._held = text[len(text) - keep :] if keep else ""
                self._emit(out, text[: len(text) - keep])
                break
            self._emit(out, text[:at])
            self._inside = not self._inside
            self._after_close = not self._inside
            text = text[at + len(tag) :]
        return out

    def split(self, chunk: Any) -> list[Any]:
        """`feed` for text; any other chunk after what was held back."""
        if isinstance(chunk, str):
            return self.feed(chunk)
        return [*self.flush(), chunk] if self._held else [chunk]

    def flush(self) -> list[str | Reasoning]:
        """What is held back, at the end of the answer (or before a non-text chunk)."""
        out: list[str | Reasoning] = []
        held, self._held = self._held, ""
        self._emit(out, held)
        return out

    def _text(self, text: str) -> str:
        if self._after_close:
            text = text.lstrip("\r\n")
            self._after_close = not text
        return text

    def _emit(self, out: list[str | Reasoning], text: str) -> None:
        if not text:
            return
        if self._inside:
            out.append(Reasoning(token=text))
        elif text := self._text(text):
            out.append(text)
