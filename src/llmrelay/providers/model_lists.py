"""Model lists fetched from a server (`/models`, `/api/tags`, …), reused for `MODELS_TTL`.

One bounded cache shared by the providers that list models remotely, keyed by provider,
endpoint and a keyed digest of the API key (never the key itself). Entries are replaced, never
mutated, so concurrent requests cannot see half an update.
"""

from __future__ import annotations

from .cache import BoundedCache, secret_digest

__all__ = ["LOCAL_MODELS_TTL", "MODELS_TTL", "ModelLists", "model_lists"]

#: How long a fetched model list is reused, in seconds (a local server's: `LOCAL_MODELS_TTL`,
#: so that a model pulled a moment ago is found soon).
MODELS_TTL = 600.0
LOCAL_MODELS_TTL = 30.0
#: How many (provider, endpoint, key) lists are kept.
MAX_LISTS = 256

Key = tuple[str, str, str]


class ModelLists:
    def __init__(self) -> None:
        self._entries: BoundedCache[Key, tuple[str, ...]] = BoundedCache(MAX_LISTS, MODELS_TTL)

    @staticmethod
    def key(provider: str, api_base: str, api_key: str | None) -> Key:
        return (provider, api_base, secret_digest(api_key))

    def get(self, key: Key) -> list[str] | None:
        entry = self._entries.get(key)
        return None if entry is None else list(entry)

    def put(self, key: Key, models: list[str], ttl: float | None = None) -> None:
        self._entries.put(key, tuple(models), ttl)


model_lists = ModelLists()
