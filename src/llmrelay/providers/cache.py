"""`BoundedCache`: the one cache shape llmrelay keeps at run time — bounded, optionally expiring.

Every run-time cache (fetched model lists, reachability probes, per-account provider classes)
is one of these: at most `maxsize` entries, the least recently used evicted first, entries
replaced and never mutated, a lock around each step so the bridge thread and callers' threads
can share it. Keys never hold a secret: `secret_digest` names one without revealing it.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections import OrderedDict
from typing import Generic, TypeVar

__all__ = ["BoundedCache", "secret_digest"]

K = TypeVar("K")
V = TypeVar("V")

_SALT = os.urandom(16)  # per process: a digest cannot be matched against guesses elsewhere


def secret_digest(secret: str | None) -> str:
    """A short keyed digest naming `secret` in a cache key ("" for none)."""
    if not secret:
        return ""
    return hashlib.blake2b(secret.encode(), key=_SALT, digest_size=12).hexdigest()


class BoundedCache(Generic[K, V]):
    """At most `maxsize` entries, each expiring `ttl` seconds after it was put (None: never)."""

    def __init__(self, maxsize: int, ttl: float | None = None) -> None:
        self.maxsize, self.ttl = maxsize, ttl
        self._entries: OrderedDict[K, tuple[float, V]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if entry[0] < time.monotonic():
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return entry[1]

    def put(self, key: K, value: V, ttl: float | None = None) -> V:
        ttl = self.ttl if ttl is None else ttl
        expires = float("inf") if ttl is None else time.monotonic() + ttl
        with self._lock:
            self._entries[key] = (expires, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.maxsize:
                self._entries.popitem(last=False)
        return value

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
