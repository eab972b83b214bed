"""The one small interface both state backends (SQLite, Redis) implement."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from ..records import Admission, KeyRecord, Usage

__all__ = ["Store", "open_store"]

WINDOW = 60.0  # seconds: the rate-limit window (a sliding minute)


class Store(Protocol):
    async def reserve(
        self, key_hash: str, model: str, request_id: str, tokens: int, cost: int
    ) -> Admission:
        """Atomically: check the key (revoked, expired, model), its requests and tokens in the
        last minute and its spend; when all allow, count the request with `tokens` and add
        `cost` to the spend. Raises StoreDownError."""
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


def open_store(url: str) -> Store:
    """`sqlite:///path` or `redis://…` (rediss://, unix:// too)."""
    if url.startswith("sqlite://"):
        from .sqlite import SQLiteStore

        return SQLiteStore(url.removeprefix("sqlite://") or ":memory:")
    if url.startswith(("redis://", "rediss://", "unix://")):
        from .redis import RedisStore

        return RedisStore(url)
    raise ValueError(f"unknown state URL {url.split(':', 1)[0]!r}: use sqlite:///path or redis://")
