"""The gateway's settings: command-line flags over the optional TOML file.

    [gateway]                        # every key optional; command-line flags win
    api_keys_env = "LLMRELAY_API_KEYS"
    max_body_bytes = 4194304
    max_inflight = 256
    allow_request_fields = []
    default_provider = "local"       # models not listed below go to this provider
    responses_store_size = 1000      # responses kept for previous_response_id (in process),
    responses_store_bytes = 67108864 # … their size in all, and their age in seconds
    responses_store_ttl = 3600

    [upstreams.local]                # any OpenAI-compatible endpoint, as a provider named "local"
    base_url = "http://127.0.0.1:8080/v1"
    api_key_env = "LOCAL_LLM_KEY"    # the variable holding its key (never the key itself)
    models = ["qwen2.5"]             # listed by /v1/models (optional)

    [models]                         # public name → "provider/model", or a fallback chain
    fast = "local/qwen2.5"
    smart = ["OpenAI/gpt-4o", "Anthropic/claude-sonnet-4-5", "local/qwen2.5"]

    [cache]                          # the response cache of virtual keys (team layer)
    ttl = 3600                       # seconds, for keys without their own --cache-ttl
    max_entry_bytes = 262144         # larger answers are not cached
    max_entries = 10000              # SQLite: entries kept (Redis: its maxmemory policy)
    shared = false                   # true: keys share entries (else each key its own)

Providers are otherwise configured exactly as for the client: `OPENAI_API_KEY`,
`ANTHROPIC_API_KEY`, `OPENAI_BASE_URL`, … read from the environment.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

__all__ = ["DEFAULT_MAX_BODY_BYTES", "ConfigError", "GatewayConfig", "Upstream", "load_config"]

#: The `[cache]` table: key → (GatewayConfig field, type).
_CACHE_KEYS: dict[str, tuple[str, type]] = {
    "ttl": ("cache_ttl", float),
    "max_entry_bytes": ("cache_max_entry_bytes", int),
    "max_entries": ("cache_max_entries", int),
    "shared": ("cache_shared", bool),
}

DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024
DEFAULT_MAX_INFLIGHT = 256


class ConfigError(ValueError):
    """The configuration file or flags are wrong; the message says where."""


@dataclass(frozen=True, slots=True)
class Upstream:
    """A named OpenAI-compatible endpoint."""

    name: str
    base_url: str
    api_key_env: str | None = None
    models: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class GatewayConfig:
    """Everything the app needs; immutable once built."""

    api_keys: tuple[str, ...] = ()
    insecure_no_auth: bool = False
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    max_inflight: int = DEFAULT_MAX_INFLIGHT
    #: Seconds a request waits for an in-flight slot before 503.
    queue_timeout: float = 5.0
    #: Seconds streams get to finish when the server stops.
    shutdown_timeout: float = 30.0
    allowed_fields: frozenset[str] = frozenset()
    upstreams: tuple[Upstream, ...] = ()
    #: Public model name → routes ("provider/model"), tried in order.
    models: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    default_provider: str | None = None
    #: Seconds per upstream request (None: the transport's defaults).
    upstream_timeout: float | None = None
    #: Retries of an upstream request (before its first byte). 0: errors go straight back to
    #: the caller with their Retry-After, and the caller's SDK retries as it is configured to.
    upstream_max_retries: int = 0
    #: Team layer (virtual keys, limits, budgets, usage): the state store's URL
    #: (sqlite:///path, redis://…; None with an admin key: SQLite in the user data dir).
    state: str | None = None
    #: Serve virtual keys last seen valid when the store is unreachable (else 503).
    state_fail_open: bool = False
    admin_key: str | None = None
    #: A price table (JSON, as team/prices.json) instead of the shipped one.
    prices: str | None = None
    #: Where usage recorded while the store is down waits (default: the user data dir).
    state_spool: str | None = None
    #: Responses kept for `previous_response_id` (in process): how many, how many bytes of
    #: items in all, and for how many seconds.
    responses_store_size: int = 1000
    responses_store_bytes: int = 64 * 1024 * 1024
    responses_store_ttl: float = 3600.0
    #: Response cache (virtual keys with `cache` on): default TTL in seconds, the largest
    #: answer kept, entries kept in SQLite, and whether keys share entries.
    cache_ttl: float = 3600.0
    cache_max_entry_bytes: int = 256 * 1024
    cache_max_entries: int = 10_000
    cache_shared: bool = False

    def with_(self, **changes: Any) -> GatewayConfig:
        return replace(self, **changes)


def _str_list(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise ConfigError(f"{where}: a string or a non-empty list of strings")


def _upstream(name: str, table: Any) -> Upstream:
    where = f"[upstreams.{name}]"
    if not isinstance(table, Mapping):
        raise ConfigError(f"{where}: must be a table")
    if "api_key" in table:
        raise ConfigError(
            f"{where}: put the key in an environment variable and name it in "
            "api_key_env (keys do not belong in files)"
        )
    unknown = set(table) - {"base_url", "api_key_env", "models"}
    if unknown:
        raise ConfigError(f"{where}: unknown keys {sorted(unknown)}")
    base = table.get("base_url")
    if not isinstance(base, str) or not base.startswith(("http://", "https://")):
        raise ConfigError(f"{where}: base_url must be an http(s) URL")
    key_env = table.get("api_key_env")
    if key_env is not None and not isinstance(key_env, str):
        raise ConfigError(f"{where}: api_key_env must be a variable name")
    models = _str_list(table["models"], f"{where} models") if "models" in table else ()
    return Upstream(name, base.rstrip("/"), key_env, models)


def from_mapping(data: Mapping[str, Any], base: GatewayConfig | None = None) -> GatewayConfig:
    """A config from parsed TOML (over `base`)."""
    config = base or GatewayConfig()
    unknown = set(data) - {"gateway", "upstreams", "models", "cache"}
    if unknown:
        raise ConfigError(f"unknown tables {sorted(unknown)}")
    gateway = data.get("gateway", {})
    changes: dict[str, Any] = {}
    for key, kind in (
        ("max_body_bytes", int),
        ("max_inflight", int),
        ("queue_timeout", float),
        ("shutdown_timeout", float),
        ("upstream_timeout", float),
        ("upstream_max_retries", int),
        ("default_provider", str),
        ("responses_store_size", int),
        ("responses_store_bytes", int),
        ("responses_store_ttl", float),
    ):
        if key in gateway:
            value = gateway[key]
            if not isinstance(value, kind | (int if kind is float else kind)):
                raise ConfigError(f"[gateway] {key}: must be a {kind.__name__}")
            changes[key] = value
    if "allow_request_fields" in gateway:
        fields = _str_list(gateway["allow_request_fields"], "[gateway] allow_request_fields")
        changes["allowed_fields"] = frozenset(fields)
    if "api_keys_env" in gateway:
        changes["api_keys"] = keys_from_env(str(gateway["api_keys_env"]))
    upstreams = data.get("upstreams", {})
    if not isinstance(upstreams, Mapping):
        raise ConfigError("[upstreams]: must be a table of tables")
    changes["upstreams"] = tuple(_upstream(name, table) for name, table in upstreams.items())
    models = data.get("models", {})
    if not isinstance(models, Mapping):
        raise ConfigError("[models]: must be a table")
    changes["models"] = {name: _str_list(v, f"[models] {name}") for name, v in models.items()}
    for name, routes in changes["models"].items():
        for route in routes:
            if "/" not in route:
                raise ConfigError(f"[models] {name}: {route!r} is not 'provider/model'")
    unknown = set(gateway) - {"api_keys_env", "allow_request_fields", *changes}
    if unknown:
        raise ConfigError(f"[gateway]: unknown keys {sorted(unknown)}")
    changes.update(_cache(data.get("cache", {})))
    return config.with_(**changes)


def _cache(table: Any) -> dict[str, Any]:
    if not isinstance(table, Mapping):
        raise ConfigError("[cache]: must be a table")
    unknown = set(table) - set(_CACHE_KEYS)
    if unknown:
        raise ConfigError(f"[cache]: unknown keys {sorted(unknown)}")
    changes: dict[str, Any] = {}
    for key, value in table.items():
        name, kind = _CACHE_KEYS[key]
        if kind is bool:
            ok, what = isinstance(value, bool), "true or false"
        else:
            number = isinstance(value, int if kind is int else int | float)
            ok = number and not isinstance(value, bool) and value >= 0
            what = "a whole number" if kind is int else "a number"
        if not ok:
            raise ConfigError(f"[cache] {key}: must be {what} (not negative)")
        changes[name] = kind(value)
    return changes


def load_config(path: str | os.PathLike[str], base: GatewayConfig | None = None) -> GatewayConfig:
    """Read a TOML config file (`ConfigError` says what is wrong)."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from None
    return from_mapping(data, base)


def keys_from_env(variable: str = "LLMRELAY_API_KEYS") -> tuple[str, ...]:
    """Gateway keys from a comma-separated environment variable."""
    return tuple(k.strip() for k in os.environ.get(variable, "").split(",") if k.strip())
