"""Local servers (Ollama, llama.cpp's server, vLLM, LM Studio): which answer, and what they list.

Nothing here runs at import. A probe opens a TCP connection within `PROBE_TIMEOUT`; its result
is kept for `PROBE_TTL`. A server that answers is asked for its models (`/v1/models`) within
`LIST_TIMEOUT`; the provider keeps that list briefly (`model_lists.LOCAL_MODELS_TTL`), so a
model pulled a moment ago is found soon and a request pays for discovery at most once in a
while. Both caches are bounded.
"""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import urlsplit

from .cache import BoundedCache
from .registry import is_configured
from .types import BaseProvider

__all__ = ["LOCAL_SERVERS", "is_available", "is_reachable", "local_servers_listing"]

log = logging.getLogger("llmrelay.routing")

#: Providers for servers that run on the user's machine, in the order they are asked.
LOCAL_SERVERS = ("Ollama", "LlamaCpp", "VLLM", "LMStudio")
PROBE_TIMEOUT = 0.25
PROBE_TTL = 30.0
LIST_TIMEOUT = 2.0

_probes: BoundedCache[tuple[str, int], bool] = BoundedCache(maxsize=64, ttl=PROBE_TTL)


async def is_reachable(url: str) -> bool:
    """Whether a TCP connection to `url`'s host and port opens within `PROBE_TIMEOUT`."""
    parts = urlsplit(url)
    if not parts.hostname:
        return False
    key = (parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
    seen = _probes.get(key)
    if seen is not None:
        return seen
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(*key), PROBE_TIMEOUT)
    except (OSError, TimeoutError):
        reachable = False
    else:
        writer.close()
        reachable = True
        await writer.wait_closed()
    return _probes.put(key, reachable)


def _base(provider: type[BaseProvider]) -> str | None:
    resolve = getattr(provider, "resolve_api_base", None)
    try:
        return resolve() if resolve is not None else None
    except Exception:
        return None


async def is_available(provider: type[BaseProvider]) -> bool:
    """Configured (its key is set), or a local server (no key needed) that answers."""
    if provider.needs_auth:
        return is_configured(provider)
    base = _base(provider)
    return base is not None and await is_reachable(base)


async def _listed(provider: type[BaseProvider]) -> tuple[str, ...]:
    if not await is_available(provider):
        return ()
    fetch = getattr(provider, "get_models_async", None)
    try:
        models = tuple(await fetch(timeout=LIST_TIMEOUT)) if fetch else ()
    except Exception as exc:  # a server that answers but does not list: nothing to route
        log.debug("%s at %s lists no models: %s", provider.__name__, _base(provider), exc)
        models = ()
    return models


async def local_servers_listing(
    model: str, servers: list[type[BaseProvider]]
) -> list[type[BaseProvider]]:
    """The `servers` that are running and list `model` (all running ones for "")."""
    lists = await asyncio.gather(*(_listed(server) for server in servers))
    return [
        s
        for s, names in zip(servers, lists, strict=True)
        if names and (not model or model in names)
    ]
