"""The response cache of virtual keys: exact match on the normalised request, in the state
store (SQLite for one instance, Redis shared by many), opt-in per key and per request.

- **Whether**: a key's `cache` is `off` (never), `on` (answers at `temperature: 0`; sampled
  ones — temperature above 0, or unset, where every provider's default is above 0 — only when
  the request asks with `"cache": true`) or `always` (every answer). A request leaves it out
  with `"cache": false`, `{"no-cache": true}` (not read) / `{"no-store": true}` (not written),
  or the same as `Cache-Control` directives.
- **Key**: sha256 of canonical JSON (sorted keys) of the resolved route (provider, its base
  URL, the model it is sent) plus the messages and every parameter that shapes the answer
  (`user` and the stream options do not); scoped by the key's id unless `[cache] shared`.
- **Entries**: complete answers only (see `cache_entry`), for the key's TTL or the gateway's,
  shortened by the request's `ttl`.
- **One round trip on a hit**: the lookup rides on the reservation (`Store.reserve(probe=)`).
  Whether to send a probe needs the key's mode before the store has said it: the mode the key
  had when last admitted is kept as a hint (bounded; a key's settings never change), and an
  unknown key is probed as if it cached. The store's answer decides; a wrong hint costs at
  most a lookup, never a wrong answer.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
from typing import TYPE_CHECKING, Any

from ...protocols.fields import CacheSwitch
from ...providers.types import BaseRetryProvider
from . import cache_entry
from .cache_entry import Capture, Entry

if TYPE_CHECKING:
    from ...client.types import ChatCompletion
    from ...protocols.openai.gateway import ChatRequest
    from ..app import Exchange
    from ..config import GatewayConfig
    from .gate import TeamRequest
    from .metrics import TeamMetrics
    from .records import Admission
    from .state.base import Probe, Store

__all__ = ["Plan", "ResponseCache", "digest", "wanted"]

log = logging.getLogger("llmrelay.server.team")
SHARED = "shared"  # the scope of entries shared by every key (key ids are key_<hex>)
HEADER = b"x-llmrelay-cache"
_HINTS = 10_000  # key modes remembered (bounded; the oldest forgotten first)
_NOT_ANSWER = frozenset({"user"})  # parameters that do not change the answer


def _route(provider: Any, model: str) -> Any:
    if provider is None:
        return ["", "", model]
    if isinstance(provider, BaseRetryProvider):
        return [_route(p, model) for p in provider.providers]
    aliases = getattr(provider, "model_aliases", None) or {}
    name = getattr(provider, "__name__", type(provider).__name__)
    return [name, getattr(provider, "api_base", None) or "", aliases.get(model, model)]


def _number(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value


def digest(provider: Any, model: str, request: ChatRequest) -> str:
    """The sha256 of the normalised request (the route it takes, messages, parameters)."""
    params = {k: _number(v) for k, v in request.params.items() if k not in _NOT_ANSWER}
    # The standard library's canonical form, not jsonio's: it must not depend on whether an
    # instance has orjson (instances sharing one Redis must agree on every digest).
    document = {"route": _route(provider, model), "messages": request.messages, "params": params}
    text = json.dumps(
        document, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str
    )
    return hashlib.sha256(text.encode()).hexdigest()


def wanted(mode: str, switch: CacheSwitch, params: dict[str, Any]) -> bool:
    """Whether the cache takes part in a request of a key in `mode`."""
    if mode == "off" or not (switch.read or switch.write):
        return False
    if mode == "always" or switch.asked:
        return True
    return params.get("temperature") == 0  # unset: the provider's default, above 0


def _switch(switch: CacheSwitch | None, headers: list[tuple[bytes, bytes]]) -> CacheSwitch:
    """The body's `cache` switch with the request's `Cache-Control` directives on top."""
    out = switch or CacheSwitch()
    for name, value in headers:
        if name != b"cache-control":
            continue
        for directive in bytes(value).decode("latin-1").lower().split(","):
            word, _, argument = directive.strip().partition("=")
            if word == "no-cache":
                out = dataclasses.replace(out, read=False)
            elif word == "no-store":
                out = dataclasses.replace(out, write=False)
            elif word == "max-age" and argument.strip().isdigit():
                age = float(argument)
                out = dataclasses.replace(out, max_age=min(age, out.max_age or age))
    return out


class Plan:
    """The cache's part in one chat request: what to look up, and where to keep the answer."""

    __slots__ = (
        "cache", "digest", "entry", "model", "params", "probe", "scope", "switch", "ttl", "write",
    )  # fmt: skip

    def __init__(self, cache: ResponseCache, request: ChatRequest, switch: CacheSwitch) -> None:
        self.cache = cache
        self.model = request.model  # the name asked for (the metrics' label)
        self.params = request.params
        self.switch = switch
        self.digest = ""  # set when the cache takes part (looked up and/or kept)
        #: Sent with the reservation: the scope ("" = the key's own) and digest to look up.
        self.probe: Probe | None = None
        self.scope = ""
        self.ttl = 0.0
        self.write = False
        self.entry: Entry | None = None  # the hit

    async def keep(self, completion: ChatCompletion) -> None:
        """Store a complete answer that was not streamed (before it is sent)."""
        await self.cache.put(self, cache_entry.of_completion(completion))

    def capture(self) -> Capture:
        """What gathers a streamed answer, stored when the stream ends normally."""

        async def keep(entry: Entry) -> None:
            await self.cache.put(self, entry)

        return Capture(keep)


class ResponseCache:
    """The gateway's response cache over the team's state store."""

    def __init__(self, config: GatewayConfig, store: Store, metrics: TeamMetrics) -> None:
        self.store = store
        self.metrics = metrics
        self.ttl = config.cache_ttl
        self.max_bytes = config.cache_max_entry_bytes
        self.shared = config.cache_shared
        self._modes: dict[str, str] = {}  # key sha256 → its mode when last admitted

    def plan(
        self, team: TeamRequest, request: ChatRequest, provider: Any, model: str
    ) -> Plan | None:
        """Before the reservation of a chat request: its plan, with the probe to send when
        the cache may answer it. None: the key is known not to cache (one dict lookup,
        nothing else); an unknown key is planned for as if it cached everything."""
        mode = self._modes.get(team.key_hash, "always")
        if mode == "off":
            return None
        plan = Plan(self, request, _switch(request.cache, team.incoming))
        if wanted(mode, plan.switch, request.params):
            plan.digest = digest(provider, model, request)
            if plan.switch.read:
                plan.probe = (SHARED if self.shared else "", plan.digest)
        return plan

    def learn(self, key_hash: str, mode: str) -> None:
        """Remember the cache mode of an admitted key: the hint `plan` goes by (bounded)."""
        if self._modes.get(key_hash) != mode:
            if len(self._modes) >= _HINTS:
                del self._modes[next(iter(self._modes))]
            self._modes[key_hash] = mode

    def admitted(self, exchange: Exchange, plan: Plan, a: Admission) -> Plan | None:
        """After an admitted reservation: the request's plan (None: the cache is out of it),
        its `x-llmrelay-cache` header and its hit or miss counted."""
        team = exchange.team
        assert team is not None
        if a.cache == "off":
            return None
        if not plan.digest or not wanted(a.cache, plan.switch, plan.params):
            verdict = "bypass"
        else:
            plan.scope = SHARED if self.shared else a.key_id
            ttl = float(a.cache_ttl) or self.ttl
            plan.ttl = ttl if plan.switch.ttl is None else min(ttl, plan.switch.ttl)
            plan.write = plan.switch.write and plan.ttl > 0
            if plan.probe is not None:
                plan.entry = cache_entry.decode(a.entry, plan.switch.max_age)
                verdict = "hit" if plan.entry is not None else "miss"
                self.metrics.cache(a.name, plan.model, verdict == "hit")
            else:
                verdict = "refresh" if plan.write else "bypass"
        exchange.cache = verdict
        team.headers.append((HEADER, verdict.encode()))
        return plan if plan.entry is not None or plan.write else None

    async def put(self, plan: Plan, entry: Entry) -> None:
        """Keep a complete answer; a store that fails is logged, never the caller's problem."""
        text = cache_entry.encode(entry)
        if text is None or len(text.encode()) > self.max_bytes:
            return
        try:
            await self.store.cache_put(plan.scope, plan.digest, text, plan.ttl)
        except Exception as exc:  # the answer is still good: only the entry is lost
            log.warning("cannot keep a response cache entry: %s", type(exc).__name__)
