"""Which provider the CLI asks when the user named none."""

from __future__ import annotations

import os

__all__ = ["default_provider"]

LOCAL = "LocalLlama"


def _key_variables(provider: type) -> tuple[str, ...]:
    variables = getattr(provider, "api_key_env", None)
    if isinstance(variables, str):
        return (variables,)
    return tuple(variables or ())


def configured_providers() -> list[str]:
    """Providers that need a key and have one set, in registry order."""
    from ..providers.registry import all_provider_names, provider_by_name

    found = []
    for name in all_provider_names():
        try:
            provider = provider_by_name(name)
        except Exception:
            continue
        if provider.needs_auth and any(os.environ.get(v) for v in _key_variables(provider)):
            found.append(name)
    return found


def default_provider(provider: str | None, model: str | None, configured: str | None) -> str | None:
    """The provider for a call: the one given, else the configured one, else — when no model
    is given — the first provider whose API key is set, else the local model. None lets the
    client route by model. (One place, so it can later defer to the client's own routing.)"""
    if provider:
        return provider
    if configured:
        return configured
    if model:
        from ..Provider import local_models

        if model.endswith(".gguf") or model in local_models.CATALOGUE:
            return LOCAL
        return None
    keyed = configured_providers()
    return keyed[0] if keyed else LOCAL
