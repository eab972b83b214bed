"""The one small interface both state backends (SQLite, Redis) implement."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from ..records import Admission, KeyRecord, Usage

__all__ = ["CACHE_ENTRIES", "Probe", "Store", "open_store"]

WINDOW = 60.0  # seconds: the rate-limit window (a sliding minute)
#: Response cache entries per SQLite store (Redis: bounded by TTL and its maxmemory).
CACHE_ENTRIES = 10_000
#: A `probe` of `reserve`: (scope, digest) of a response cache entry; scope "" is the key's
#: own id (known to the store only), any other scope (the shared one) is taken as given.
Probe = tuple[str, str]


class Store(Protocol):
    async def reserve(
        self,
        key_hash: str,
        model: str,
        request_id: str,
        tokens: int,
        cost: int,
        probe: Probe | None = None,
    ) -> Admission:
        """Atomically: check the key (revoked, expired, model), its requests and tokens in the
        last minute and its spend; when all allow, count the request with `tokens` and add
        `cost` to the spend. With a `probe`, a key whose cache is not off also gets the
        unexpired cache entry (`Admission.entry`) in the same round trip. Raises
        StoreDownError."""
        ...

    async def cache_put(self, scope: str, digest: str, entry: str, ttl: float) -> None:
        """Keep a response cache entry for `ttl` seconds (SQLite: expired entries evicted, the
        oldest past the cap; Redis: `SET … PX`)."""
        ...

    async def settle_many(self, settled: Sequence[tuple[Usage, int]]) -> None:
        """For each (usage, tokens): replace the request's reserved tokens by `tokens`, add
        `usage.cost - usage.reserved_cost` to the spend, keep the usage record. Idempotent per
        request id; one transaction (SQLite) or one pipeline (Redis)."""
        ...

    async def lookup(self, key_hash: str) -> KeyRecord | None: ...

    async def create_key(self, record: KeyRecord) -> None: ...

    async def list_keys(self) -> list[KeyRecord]: ...

    async def revoke(self, key_id: str) -> bool: ...

    async def spend(self, key_id: str) -> int: ...

    async def usage(self, since: float | None = None, key: str | None = None) -> list[Usage]: ...

    async def close(self) -> None: ...


def open_store(url: str, cache_entries: int = CACHE_ENTRIES) -> Store:
    """`sqlite:///path` or `redis://…` (rediss://, unix:// too)."""
    if url.startswith("sqlite://"):
        from .sqlite import SQLiteStore

        return SQLiteStore(url.removeprefix("sqlite://") or ":memory:", cache_entries)
    if url.startswith(("redis://", "rediss://", "unix://")):
        from .redis import RedisStore

        return RedisStore(url)
    raise ValueError(f"unknown state URL {url.split(':', 1)[0]!r}: use sqlite:///path or redis://")
