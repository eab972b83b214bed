"""Providers by name, and which of them can serve a request right now.

Names resolve to built-in providers (`llmrelay.Provider.<Name>`) or to third-party ones that
a package registers under the `llmrelay.providers` entry-point group::

    [project.entry-points."llmrelay.providers"]
    MyProvider = "my_package.provider:MyProvider"

Choosing providers for a model (`providers_for_model`): the model's providers in the order of
`llmrelay.models`, keeping those that are configured — their API key is set — or local and
reachable (a TCP connection to their base URL opens within `PROBE_TIMEOUT`).
"""

from __future__ import annotations

import asyncio
import functools
import importlib
import os
import time
from typing import Any
from urllib.parse import urlsplit

from ..errors import ModelNotFoundError, ProviderNotFoundError
from .types import BaseProvider

__all__ = ["ENTRY_POINT_GROUP", "is_configured", "provider_by_name", "providers_for_model"]

ENTRY_POINT_GROUP = "llmrelay.providers"
PROBE_TIMEOUT = 0.25
PROBE_TTL = 30.0


@functools.cache
def _entry_points() -> dict[str, Any]:
    """Third-party providers, discovered once (on first use, never at import)."""
    from importlib.metadata import entry_points

    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def provider_by_name(name: str) -> type[BaseProvider]:
    """The built-in or entry-point provider called `name` (`ProviderNotFoundError` if none)."""
    builtins = importlib.import_module("llmrelay.Provider")
    try:
        return getattr(builtins, name)  # type: ignore[no-any-return]
    except ProviderNotFoundError:
        entry = _entry_points().get(name)
        if entry is None:
            raise
    provider = entry.load()
    if not (isinstance(provider, type) and issubclass(provider, BaseProvider)):
        raise ProviderNotFoundError(
            f"entry point {name!r} ({entry.value}) is not a llmrelay provider class"
        )
    return provider


def all_provider_names() -> list[str]:
    """Built-in and registered provider names."""
    builtins = importlib.import_module("llmrelay.Provider")
    return sorted(set(builtins.__all__) | set(_entry_points()))


def is_configured(provider: type[BaseProvider]) -> bool:
    """True when `provider` needs a key and its key variable is set (no I/O)."""
    variable = getattr(provider, "api_key_env", None)
    return bool(provider.needs_auth and variable and os.environ.get(variable))


class _Reachability:
    """Recent TCP probe results per (host, port): an explicit cache, entries replaced."""

    def __init__(self) -> None:
        self._seen: dict[tuple[str, int], tuple[float, bool]] = {}

    async def check(self, url: str) -> bool:
        parts = urlsplit(url)
        if not parts.hostname:
            return False
        key = (parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
        seen = self._seen.get(key)
        if seen is not None and seen[0] > time.monotonic():
            return seen[1]
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(*key), PROBE_TIMEOUT)
        except (OSError, TimeoutError):
            reachable = False
        else:
            writer.close()
            reachable = True
            await writer.wait_closed()
        self._seen[key] = (time.monotonic() + PROBE_TTL, reachable)
        return reachable


_reachability = _Reachability()


async def is_available(provider: type[BaseProvider]) -> bool:
    """Configured, or a local server (no key needed) that answers on its port."""
    if provider.needs_auth:
        return is_configured(provider)
    resolve = getattr(provider, "resolve_api_base", None)
    if resolve is None:
        return False
    try:
        base = resolve()
    except Exception:
        return False
    return await _reachability.check(base)


async def providers_for_model(name: str) -> list[type[BaseProvider]]:
    """The providers that can serve model `name` now, in preference order."""
    from .. import models

    model = models.get(name)
    if model is None:
        known = ", ".join(m.name for m in models.MODELS)
        raise ModelNotFoundError(
            f"no provider is known for model {name!r}: pass provider=… or base_url=…; "
            f"models llmrelay can route: {known}"
        )
    candidates = [provider_by_name(n) for n in model.providers]
    available = [p for p in candidates if await is_available(p)]
    if not available:
        variables = [
            v for p in candidates if (v := getattr(p, "api_key_env", None)) and p.needs_auth
        ]
        raise ProviderNotFoundError(
            f"no configured provider for model {name!r}: set one of {', '.join(variables)}"
        )
    return available
