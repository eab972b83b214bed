"""Pure helpers of `LocalLlama`: messages as chat templates take them, and `stop` matching."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ..errors import UnsupportedParameterError
from ..typing import Messages

__all__ = ["StopMatcher", "to_llama_messages"]

_ROLES = {"developer": "system"}


def _text(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    parts: list[str] = []
    for part in content:
        kind = part.get("type")
        if kind == "text":
            parts.append(part.get("text", ""))
        else:
            raise UnsupportedParameterError(
                f"LocalLlama reads text only, not {kind!r} content", provider="LocalLlama"
            )
    return "".join(parts)


def to_llama_messages(messages: Messages) -> list[dict[str, str]]:
    """Validated OpenAI messages as `{"role", "content": str}` for a chat template. Tool calls
    and results are written as text (small local models have no tool format)."""
    out: list[dict[str, str]] = []
    for message in messages:
        role = str(_ROLES.get(message["role"], message["role"]))
        content = _text(message.get("content"))
        if message.get("tool_calls"):
            calls = [call.get("function", {}) for call in message["tool_calls"]]
            content = (content + "\n" + json.dumps(calls)).strip()
        if role == "tool":
            role, content = "user", f"Tool result: {content}"
        out.append({"role": role, "content": content})
    return out


class StopMatcher:
    """Cut a text stream at the first of `stops`, holding back what may begin one."""

    def __init__(self, stops: Sequence[str]) -> None:
        self.stops = tuple(stops)
        self._held = ""

    def feed(self, text: str) -> tuple[str, bool]:
        """The text that is safe to show now, and whether a stop string was reached."""
        if not self.stops:
            return text, False
        buffer = self._held + text
        found = [i for i in (buffer.find(s) for s in self.stops) if i >= 0]
        if found:
            self._held = ""
            return buffer[: min(found)], True
        keep = 0
        for stop in self.stops:
            for size in range(min(len(stop) - 1, len(buffer)), 0, -1):
                if buffer.endswith(stop[:size]):
                    keep = max(keep, size)
                    break
        self._held = buffer[len(buffer) - keep :] if keep else ""
        return buffer[: len(buffer) - keep], False

    def flush(self) -> str:
        """What was held back, once the stream ended without a stop string."""
        held, self._held = self._held, ""
        return held
