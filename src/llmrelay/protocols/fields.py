"""Checking the fields of a request the gateway received, shared by every API family.

Only an allow-list of request fields reaches a provider. Fields that would redirect upstream
traffic or credentials (`api_base`, `base_url`, `api_key`, `proxy`, `headers`, …) are refused
with an error naming them unless the operator allowed them; unknown fields are refused too, so a
caller never believes a setting took effect when it did not. Errors are `FieldError`s that name
the field (`param`), for the OpenAI- or Anthropic-shaped 400 the gateway answers with.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidRequestError

__all__ = [
    "REDIRECTING",
    "CacheSwitch",
    "FieldError",
    "cache_switch",
    "check_media_url",
    "is_int",
    "is_number",
    "is_str_list",
    "load_object",
    "provider_field",
    "stream_field",
    "take",
]

#: Request fields that would send traffic or credentials somewhere the caller chose, change
#: how hard the gateway hammers a provider, or read files on the gateway's machine.
REDIRECTING = frozenset(
    {
        "api_base", "base_url", "api_key", "proxy", "proxies", "headers", "extra_headers",
        "extra_body", "extra_query", "cookies", "auth", "organization", "project", "timeout",
        "max_retries", "media", "api_version", "endpoint", "url", "host",
    }
)  # fmt: skip


class FieldError(InvalidRequestError):
    """A request field is wrong, unknown or refused; `param` names it."""

    def __init__(self, param: str, message: str, *, status_code: int = 400) -> None:
        super().__init__(message, status_code=status_code)
        self.param = param


def load_object(raw: bytes) -> dict[str, Any]:
    """A request body that must be one JSON object (`FieldError` on `body` otherwise)."""
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise FieldError("body", f"the body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise FieldError("body", "the body must be a JSON object")
    return body


def stream_field(body: Mapping[str, Any]) -> bool:
    """The request's `stream` flag (absent or null: False)."""
    stream = body.get("stream", False)
    if stream is not None and not isinstance(stream, bool):
        raise FieldError("stream", "stream: must be a boolean")
    return bool(stream)


def provider_field(body: Mapping[str, Any]) -> str | None:
    """The `provider` extension field: the name of the provider to use, if given."""
    provider = body.get("provider")
    if provider is not None and not isinstance(provider, str):
        raise FieldError("provider", "provider: must be a provider's name")
    return provider


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_str_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def take(
    body: Mapping[str, Any],
    known: Mapping[str, Callable[[Any], bool] | None],
    ignored: Collection[str],
    allowed: Collection[str],
) -> dict[str, Any]:
    """The fields of `body` to pass on: each of `known` (checked by its predicate, None: any
    value), `ignored` ones dropped, operator-`allowed` ones passed as given; anything else is a
    `FieldError` (redirecting fields say so)."""
    out: dict[str, Any] = {}
    for name, value in body.items():
        if name in known:
            check = known[name]
            if value is not None and check is not None and not check(value):
                raise FieldError(name, f"{name}: invalid value of type {type(value).__name__}")
            if value is not None:
                out[name] = value
        elif name in allowed:
            out[name] = value
        elif name in ignored:
            continue
        elif name in REDIRECTING:
            raise FieldError(
                name,
                f"{name}: refused — it would redirect upstream traffic or credentials "
                "(the gateway's operator can allow it with --allow-request-field)",
            )
        else:
            raise FieldError(name, f"{name}: unknown field")
    return out


def check_media_url(url: Any, where: str) -> None:
    """Images and files in messages: a `data:` URI or an http(s) URL, never a local path."""
    if not isinstance(url, str) or not url.startswith(("data:", "https://", "http://")):
        raise FieldError("messages", f"{where}: a URL must be a data: URI or an http(s) URL")


@dataclass(frozen=True, slots=True)
class CacheSwitch:
    """The `cache` field of a chat request (llmrelay's extension, as LiteLLM's proxy takes it):
    `true` asks for the answer to be cached (a sampled one too), `false` leaves the cache out;
    an object takes `use-cache`, `no-cache` (do not read), `no-store` (do not write), `ttl`
    (seconds, at most the key's) and `s-maxage` (accept entries at most this old)."""

    asked: bool = False
    read: bool = True
    write: bool = True
    ttl: float | None = None
    max_age: float | None = None


_CACHE_OPTIONS = ("use-cache", "no-cache", "no-store", "ttl", "s-maxage")


def cache_switch(value: Any) -> CacheSwitch | None:
    """The request's `cache` field checked (`FieldError` names what is wrong)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return CacheSwitch(asked=True) if value else CacheSwitch(read=False, write=False)
    if not isinstance(value, Mapping):
        raise FieldError("cache", "cache: true, false or an object")
    unknown = sorted(set(value) - set(_CACHE_OPTIONS))
    if unknown:
        raise FieldError("cache", f"cache: unknown options {unknown} (take {list(_CACHE_OPTIONS)})")
    for name in ("use-cache", "no-cache", "no-store"):
        if not isinstance(value.get(name, False), bool):
            raise FieldError("cache", f"cache: {name} must be a boolean")
    for name in ("ttl", "s-maxage"):
        if name in value and not (is_number(value[name]) and value[name] >= 0):
            raise FieldError("cache", f"cache: {name} must be a number of seconds")
    return CacheSwitch(
        asked=bool(value.get("use-cache")),
        read=not value.get("no-cache"),
        write=not value.get("no-store"),
        ttl=value.get("ttl"),
        max_age=value.get("s-maxage"),
    )
