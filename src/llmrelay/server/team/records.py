"""What the team layer stores: keys (only their sha256), admissions, usage records."""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import asdict, dataclass
from typing import Any

__all__ = [
    "CACHE_MODES",
    "Admission",
    "KeyRecord",
    "StoreDownError",
    "Usage",
    "hash_key",
    "new_key",
]

PREFIX = "sk-lr-"
#: A key's response cache: off; on (answers at temperature 0, others when the request asks);
#: always (every answer unless the request opts out).
CACHE_MODES = ("off", "on", "always")
MICRO = 1_000_000  # money is counted in micro-USD integers (exact, atomic increments)


class StoreDownError(Exception):
    """The state store cannot be reached."""


def new_key() -> str:
    """A random virtual key, shown once."""
    return PREFIX + secrets.token_urlsafe(32)


def hash_key(key: str | bytes) -> str:
    raw = key.encode() if isinstance(key, str) else key
    return hashlib.sha256(raw).hexdigest()


@dataclass(frozen=True, slots=True)
class KeyRecord:
    """A virtual key as stored: never the key itself."""

    id: str
    hash: str
    name: str
    models: tuple[str, ...] = ()  # empty: every model
    rpm: int = 0  # 0: no limit
    tpm: int = 0
    budget: int = -1  # micro-USD; -1: no budget
    expires: float = 0.0  # epoch seconds; 0: never
    revoked: bool = False
    created: float = 0.0
    cache: str = "off"  # one of CACHE_MODES
    cache_ttl: int = 0  # seconds; 0: the gateway's default

    def public(self) -> dict[str, Any]:
        """What list/admin answers show (no hash)."""
        data = asdict(self)
        del data["hash"]
        data["models"] = list(self.models)
        data["budget"] = None if self.budget < 0 else self.budget / MICRO
        data["expires"] = self.expires or None
        data["cache_ttl"] = self.cache_ttl or None
        return data


@dataclass(frozen=True, slots=True)
class Admission:
    """The store's verdict on one request, with what the rate-limit headers need."""

    outcome: str  # ok | nokey | revoked | expired | model | rpm | tpm | budget
    key_id: str = ""
    name: str = ""
    rpm: int = 0
    tpm: int = 0
    budget: int = -1
    requests: int = 0  # in the last minute, this one included when admitted
    tokens: int = 0
    reset: float = 0.0  # seconds until the oldest request of the window leaves it
    spend: int = 0
    cache: str = "off"  # the key's cache mode and TTL
    cache_ttl: int = 0
    entry: str | None = None  # the cached answer looked up with the reservation, if any


@dataclass(frozen=True, slots=True)
class Usage:
    """One request, as recorded (and settled against the key's counters)."""

    request_id: str
    key_id: str
    key_name: str
    model: str
    provider: str
    prompt_tokens: int
    completion_tokens: int
    cost: int  # micro-USD
    latency_ms: float
    status: int
    at: float
    reserved_cost: int = 0  # what admission added to the spend (settle adds cost - this)
    reserved_tokens: int = 0  # what admission counted in the window (settle corrects it)
    cached: bool = False  # answered from the response cache (no upstream request, cost 0)

    def to_json(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Usage:
        return cls(**data)

    def public(self) -> dict[str, Any]:
        data = asdict(self)
        data["cost"] = self.cost / MICRO
        del data["reserved_cost"], data["reserved_tokens"]
        return data


def now() -> float:
    return time.time()
