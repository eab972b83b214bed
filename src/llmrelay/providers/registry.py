"""Providers by name, and whether each is configured or running right now.

Names resolve to built-in providers (`llmrelay.Provider.<Name>`) or to third-party ones that
a package registers under the `llmrelay.providers` entry-point group::

    [project.entry-points."llmrelay.providers"]
    MyProvider = "my_package.provider:MyProvider"

A provider is *configured* when its key variable (`api_key_env`: one name, or several of which
any will do) is set. Whether a local server answers: `providers.discovery`; which providers
serve a model: `providers.routing`.
"""

from __future__ import annotations

import functools
import importlib
import os
from typing import Any

from ..errors import ProviderNotFoundError
from .types import BaseProvider

__all__ = [
    "ENTRY_POINT_GROUP",
    "all_provider_names",
    "is_configured",
    "key_variables",
    "provider_by_name",
]

ENTRY_POINT_GROUP = "llmrelay.providers"


@functools.cache
def _entry_points() -> dict[str, Any]:
    """Third-party providers, discovered once (on first use, never at import)."""
    from importlib.metadata import entry_points

    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


@functools.lru_cache(maxsize=256)
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


def key_variables(provider: Any) -> tuple[str, ...]:
    """The environment variables that configure `provider` (any one of them will do)."""
    variables = getattr(provider, "api_key_env", None)
    if not variables:
        return ()
    return (variables,) if isinstance(variables, str) else tuple(variables)


def is_configured(provider: type[BaseProvider]) -> bool:
    """True when `provider` needs a key and one of its key variables is set (no I/O)."""
    return provider.needs_auth and any(os.environ.get(v) for v in key_variables(provider))
