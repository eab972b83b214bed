"""Model lists fetched from a server (`/models`, `/api/tags`, …), reused for `MODELS_TTL`.

An explicit cache object shared by the providers that list models remotely, keyed by provider,
endpoint and a digest of the key (never the key itself). Entries are replaced, never mutated,
so concurrent requests cannot see half an update.
"""

from __future__ import annotations

import hashlib
import time

__all__ = ["MODELS_TTL", "ModelLists", "model_lists"]

#: How long a fetched model list is reused, in seconds.
MODELS_TTL = 600.0

Key = tuple[str, str, str]


class ModelLists:
    def __init__(self) -> None:
        self._entries: dict[Key, tuple[float, tuple[str, ...]]] = {}

    @staticmethod
    def key(provider: str, api_base: str, api_key: str | None) -> Key:
        digest = hashlib.sha256((api_key or "").encode()).hexdigest()[:16]
        return (provider, api_base, digest)

    def get(self, key: Key) -> list[str] | None:
        entry = self._entries.get(key)
        if entry is None or entry[0] < time.monotonic():
            return None
        return list(entry[1])

    def put(self, key: Key, models: list[str]) -> None:
        self._entries[key] = (time.monotonic() + MODELS_TTL, tuple(models))


model_lists = ModelLists()
