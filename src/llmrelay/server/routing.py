"""Model and provider names into the provider the client layer calls, and the model it sends.

- A request's `provider` field names a provider: an upstream of the config file, else a
  built-in or plug-in provider (`llmrelay.Provider.<Name>`); unknown → 404.
- Otherwise a model listed in the config's `[models]` routes to its provider, or to its
  fallback chain (an `IterListProvider`: the next one only before the first byte).
- Otherwise, with a `default_provider`, the model goes there as named; else it routes as in
  the client (`llmrelay.models`: the configured providers that serve it).

Upstreams are `OpenaiTemplate` subclasses made from their config row, as the presets are.
A route to another provider under another model id is a subclass of that provider whose
`model_aliases` map the public name to the id, so a fallback chain can send each provider its
own model id. Everything is built once, at start-up: nothing here changes per request.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable
from types import MappingProxyType
from typing import Any

from ..errors import ProviderNotFoundError
from ..providers.registry import (
    all_provider_names,
    is_configured,
    key_variables,
    provider_by_name,
)
from ..providers.retry_provider import IterListProvider
from ..providers.types import BaseProvider, BaseRetryProvider, ProviderType
from .config import GatewayConfig, Upstream

__all__ = ["Router", "accepts"]


def _upstream_class(upstream: Upstream) -> type[BaseProvider]:
    from ..Provider.openai_compatible import OpenaiTemplate

    attributes = {
        "__module__": __name__,
        "__doc__": f"Upstream {upstream.name!r} of the gateway's config: {upstream.base_url}",
        "label": upstream.name,
        "url": upstream.base_url,
        "api_base": upstream.base_url,
        "api_key_env": upstream.api_key_env,
        "needs_auth": False,
        "listed_models": upstream.models,  # listed by /v1/models; any name is sent on
    }
    return type(upstream.name, (OpenaiTemplate,), attributes)


def _aliased(provider: type[BaseProvider], public: str, model: str) -> type[BaseProvider]:
    """`provider` with `public` as an alias of `model` (and `public` served)."""
    if public == model:
        return provider
    aliases = {**getattr(provider, "model_aliases", {}), public: model}
    return type(
        provider.__name__,
        (provider,),
        {"__module__": provider.__module__, "model_aliases": MappingProxyType(aliases)},
    )


@functools.lru_cache(maxsize=512)
def _parameters(provider: Any) -> frozenset[str] | None:
    """The parameters a provider's create function declares (None: unknown, any)."""
    if isinstance(provider, BaseRetryProvider):
        names = [_parameters(p) for p in provider.providers]
        known = [n for n in names if n is not None]
        return frozenset.intersection(*known) if known else None
    get_parameters = getattr(provider, "get_parameters", None)
    if get_parameters is None:
        return None
    return frozenset(get_parameters())


def _configured(provider: type[BaseProvider]) -> bool:
    """Needs no key, or one of its key variables is set (no I/O)."""
    return not provider.needs_auth or is_configured(provider)


def accepts(provider: ProviderType, name: str) -> bool:
    """Whether `provider` (every provider of a failover list) takes parameter `name`."""
    names = _parameters(provider)
    return names is None or name in names


class Router:
    """Resolves (model, provider name) for requests; built once from the config."""

    def __init__(self, config: GatewayConfig) -> None:
        self.upstreams: dict[str, type[BaseProvider]] = {
            u.name: _upstream_class(u) for u in config.upstreams
        }
        self.config = config
        self.routes: dict[str, tuple[ProviderType, str]] = {}
        for public, targets in config.models.items():
            chain = []
            for target in targets:
                name, _, model = target.partition("/")
                chain.append(_aliased(self.provider(name), public, model))
            if len(chain) == 1:
                self.routes[public] = (chain[0], public)
            else:
                self.routes[public] = (IterListProvider(chain, shuffle=False), public)
        self.default = self.provider(config.default_provider) if config.default_provider else None

    def provider(self, name: str) -> type[BaseProvider]:
        """The provider called `name` (`ProviderNotFoundError` if none)."""
        found = self.upstreams.get(name)
        if found is not None:
            return found
        if name.startswith("_") or not name.isidentifier():
            raise ProviderNotFoundError(f"no provider named {name!r}")
        try:
            return provider_by_name(name)
        except ProviderNotFoundError:
            raise ProviderNotFoundError(f"no provider named {name!r}") from None

    def resolve(self, model: str, provider: str | None) -> tuple[ProviderType | None, str]:
        """(the provider to call, or None to route by model as the client does; the model)."""
        if provider is not None:
            chosen = self.provider(provider)
            route = self.routes.get(model)
            if route is not None and isinstance(route[0], type) and route[0].__name__ == provider:
                return route
            return chosen, model
        route = self.routes.get(model)
        if route is not None:
            return route
        if self.default is not None:
            return self.default, model
        return None, model

    def model_ids(self) -> list[tuple[str, str]]:
        """(model id, owner) for /v1/models: config routes, upstream models, known models."""
        from .. import models

        seen: dict[str, str] = {}
        for public, (provider, _) in self.routes.items():
            seen.setdefault(public, getattr(provider, "__name__", "llmrelay"))
        for name, upstream in self.upstreams.items():
            for model in getattr(upstream, "listed_models", ()):
                seen.setdefault(model, name)
        for model in models.MODELS:
            seen.setdefault(model.name, model.base_provider)
        return list(seen.items())

    def provider_rows(self) -> list[dict[str, Any]]:
        """/v1/providers: name, label, whether it is configured; never a key."""
        rows = [
            {"id": name, "label": name, "configured": True, "upstream": True}
            for name in self.upstreams
        ]
        for name in all_provider_names():
            try:
                cls = provider_by_name(name)
            except Exception:
                continue
            configured = _configured(cls)
            rows.append(
                {
                    "id": name,
                    "label": getattr(cls, "label", None) or name,
                    "configured": configured,
                    "upstream": False,
                }
            )
        return rows

    def secrets(self, extra: Iterable[str] = ()) -> tuple[str, ...]:
        """Every key the gateway could hold: to mask wherever it could surface."""
        names = {u.api_key_env for u in self.config.upstreams if u.api_key_env}
        for name in all_provider_names():
            try:
                names.update(key_variables(provider_by_name(name)))
            except Exception:
                continue
        values = [os.environ.get(n) for n in names]
        return tuple(v for v in [*values, *extra] if v and len(v) >= 4)
