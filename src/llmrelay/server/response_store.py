"""The responses the gateway made, kept so that `previous_response_id` works for providers
that keep no conversation themselves (everything reached through chat).

In process, bounded: at most `size` responses and `max_bytes` of their items, each for at most
`ttl` seconds; the least recently used goes first. Each is kept for one caller: the sha256 of
the gateway or virtual key that made it (never the key). Another caller's id reads as unknown,
so a response id that leaks does not leak the conversation.

A response of OpenAI's own Responses API keeps only its owner here (OpenAI keeps the
conversation): its id is passed on to OpenAI only for the caller that made it.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

__all__ = ["ResponseStore", "Stored", "caller_scope"]

_BEARER = b"bearer "


def caller_scope(headers: list[tuple[bytes, bytes]]) -> str:
    """Whose responses a request may continue: the sha256 of the key it presents ("" for
    none, when the gateway runs without keys)."""
    for name, value in headers:
        if name == b"authorization" and value[:7].lower() == _BEARER:
            return hashlib.sha256(value[7:].strip()).hexdigest()
        if name == b"x-api-key":
            return hashlib.sha256(value.strip()).hexdigest()
    return ""


@dataclass(frozen=True, slots=True)
class Stored:
    """One kept response: its caller, the provider that made it, and the items of its turn
    (input then output; None for OpenAI's own endpoint, which keeps them itself)."""

    scope: str
    provider: str
    items: list[Any] | None
    expires: float
    size: int


class ResponseStore:
    """Responses by id, bounded by count, bytes and age (least recently used dropped first)."""

    def __init__(self, size: int, ttl: float, max_bytes: int) -> None:
        self.size, self.ttl, self.max_bytes = size, ttl, max_bytes
        self._entries: OrderedDict[str, Stored] = OrderedDict()
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._entries)

    def put(self, scope: str, response_id: str, provider: str, items: list[Any] | None) -> None:
        if self.size < 1:
            return
        weight = len(json.dumps(items, separators=(",", ":"))) if items is not None else 64
        if weight > self.max_bytes:
            return  # larger than the whole store: not kept
        self._drop(response_id)
        now = time.monotonic()
        while self._entries and next(iter(self._entries.values())).expires <= now:
            self._drop(next(iter(self._entries)))
        self._entries[response_id] = Stored(scope, provider, items, now + self.ttl, weight)
        self._bytes += weight
        while len(self._entries) > self.size or self._bytes > self.max_bytes:
            self._drop(next(iter(self._entries)))

    def get(self, scope: str, response_id: str) -> Stored | None:
        """The response `response_id` if `scope` made it and it is still kept."""
        entry = self._entries.get(response_id)
        if entry is None:
            return None
        if entry.expires <= time.monotonic():
            self._drop(response_id)
            return None
        if entry.scope != scope:
            return None
        self._entries.move_to_end(response_id)
        return entry

    def _drop(self, response_id: str) -> None:
        entry = self._entries.pop(response_id, None)
        if entry is not None:
            self._bytes -= entry.size
