"""The team layer's hooks into the gateway: who is calling (a virtual key), may they (limits,
budget: one atomic reservation in the state store), and what it cost (settled after).

Nothing about a key is cached between requests: revoking one is seen by the next request on
every instance. The one exception is fail-open mode while the store is down (see `admit`).
The response cache (`cache`) looks answers up in the same round trip as the reservation.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import os
import time
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..failures import Failure
from .cache import Plan, ResponseCache
from .metrics import TeamMetrics
from .prices import Prices
from .records import MICRO, PREFIX, Admission, StoreDownError, Usage, hash_key
from .state.base import Store, open_store

if TYPE_CHECKING:
    from ..app import Exchange
    from ..config import GatewayConfig

__all__ = ["Team", "TeamRequest"]

log = logging.getLogger("llmrelay.server.team")
_BEARER = b"bearer "
_PREFIX = PREFIX.encode()
#: Routes whose requests are admitted against the key's limits (and billed from usage).
_ADMITTED_PATHS = ("/v1/chat/completions", "/v1/messages", "/v1/embeddings", "/v1/responses")
_BATCH_SECONDS = 0.005  # usage is written at most this much behind the answers
_KNOWN_KEYS = 10_000  # fail-open only: last good admissions remembered (bounded)


class TeamRequest:
    """One request made with a virtual key."""

    __slots__ = (
        "admission", "cache", "estimate", "events", "headers", "incoming", "key_hash", "model",
        "request_id", "reserved_cost", "reserved_tokens", "settled",
    )  # fmt: skip

    def __init__(self, key_hash: str, incoming: list[tuple[bytes, bytes]]) -> None:
        self.key_hash = key_hash
        self.incoming = incoming  # the request's headers (Cache-Control)
        self.cache: Plan | None = None  # the response cache's part in it
        self.request_id = os.urandom(16).hex()  # as uuid4().hex, without the UUID object
        self.admission: Admission | None = None
        self.headers: list[tuple[bytes, bytes]] = []
        self.estimate = 0  # prompt tokens, from the body's size
        self.reserved_cost = 0
        self.reserved_tokens = 0
        self.model = ""
        self.events = 0  # response body messages sent (stream events)
        self.settled = False


def _duration(seconds: float) -> str:
    """OpenAI's reset format: `1s`, `6m0s`, `20ms`."""
    if seconds < 1:
        return f"{max(int(seconds * 1000), 1)}ms"
    whole = math.ceil(seconds)
    return f"{whole // 60}m{whole % 60}s" if whole >= 60 else f"{whole}s"


def _headers(a: Admission) -> list[tuple[bytes, bytes]]:
    out: list[tuple[bytes, bytes]] = []
    reset = _duration(a.reset).encode()
    if a.rpm:
        out += [
            (b"x-ratelimit-limit-requests", str(a.rpm).encode()),
            (b"x-ratelimit-remaining-requests", str(max(a.rpm - a.requests, 0)).encode()),
            (b"x-ratelimit-reset-requests", reset),
        ]
    if a.tpm:
        out += [
            (b"x-ratelimit-limit-tokens", str(a.tpm).encode()),
            (b"x-ratelimit-remaining-tokens", str(max(a.tpm - a.tokens, 0)).encode()),
            (b"x-ratelimit-reset-tokens", reset),
        ]
    return out


def _refusal(a: Admission, model: str) -> Failure:
    who = f"key {a.name!r}"
    if a.outcome in ("nokey", "revoked", "expired"):
        why = {"nokey": "is not a valid key", "revoked": "was revoked", "expired": "has expired"}
        return Failure(401, "invalid_request_error", f"the key {why[a.outcome]}")
    if a.outcome == "model":
        return Failure(403, "permission_error", f"{who} may not use the model {model[:100]!r}")
    if a.outcome in ("rpm", "tpm"):
        kind, limit = ("requests", a.rpm) if a.outcome == "rpm" else ("tokens", a.tpm)
        used = a.requests if a.outcome == "rpm" else a.tokens
        message = (
            f"Rate limit reached for {kind} per minute on {who}: Limit {limit}, Used {used}. "
            f"Please try again in {_duration(a.reset)}."
        )
        return Failure(429, kind, message, retry_after=a.reset)
    return Failure(
        402,
        "insufficient_quota",
        f"{who} has reached its budget of ${a.budget / MICRO:.2f} (spent ${a.spend / MICRO:.4f})",
    )


def _read_spool(path: Path) -> list[tuple[Usage, int]]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    except OSError as exc:
        log.warning("cannot read the usage spool %s: %s", path, exc)
        return []
    records: list[tuple[Usage, int]] = []
    for number, line in enumerate(lines, 1):
        try:
            entry = json.loads(line)
            records.append((Usage.from_json(entry["usage"]), int(entry["tokens"])))
        except (ValueError, KeyError, TypeError):  # a line cut by a crash: skipped, said
            log.warning("usage spool %s: line %d is not a record; skipped", path, number)
    if records:
        log.info("%d usage records from the spool %s will be written", len(records), path)
    return records


class Team:
    """Virtual keys, limits, budgets and usage for one gateway process."""

    def __init__(self, config: GatewayConfig) -> None:
        from .ops import data_dir, default_state_url

        self.store: Store = open_store(
            config.state or default_state_url(), config.cache_max_entries
        )
        self.fail_open = config.state_fail_open
        self.admin_key = (config.admin_key or "").encode()
        self.prices = Prices.load(config.prices)
        self.metrics = TeamMetrics()
        self.cache = ResponseCache(config, self.store, self.metrics)
        self.spool_file = Path(config.state_spool or data_dir() / "spool.jsonl")
        #: Usage not yet written: what a previous process left in the spool file comes first
        #: (settling is idempotent per request id, so a record written twice counts once).
        self.spool: list[tuple[Usage, int]] = _read_spool(self.spool_file)
        self._known: OrderedDict[str, Admission] = OrderedDict()
        self._pending: list[tuple[Usage, int]] = []
        self._writer: asyncio.Task[None] | None = None

    # -- hooks ---------------------------------------------------------------------------------

    def token(self, headers: list[tuple[bytes, bytes]]) -> bytes | None:
        for name, value in headers:
            if name == b"authorization" and value[:7].lower() == _BEARER:
                given = value[7:].strip()
            elif name == b"x-api-key":
                given = value.strip()
            else:
                continue
            if given.startswith(_PREFIX):
                return given
        return None

    async def authenticate(self, exchange: Exchange, scope: dict[str, Any]) -> bool:
        """A virtual key on the request: chat, embeddings and responses requests are checked
        when admitted (one round trip); other routes look the key up now."""
        token = self.token(scope["headers"])
        if token is None:
            return False
        request = TeamRequest(hash_key(token), scope["headers"])
        if scope["method"] == "POST" and scope["path"] in _ADMITTED_PATHS:
            exchange.team = request
            return True
        try:
            record = await self.store.lookup(request.key_hash)
        except StoreDownError:
            return False
        ok = record is not None and not record.revoked
        ok = ok and not (record and record.expires and time.time() >= record.expires)
        return ok

    async def admit(
        self,
        exchange: Exchange,
        requested: str,
        model: str,
        size: int,
        max_tokens: Any = None,
        plan: Plan | None = None,
    ) -> Failure | None:
        """Reserve the request (for the `requested` model name, routed to `model`; a body of
        `size` bytes; at most `max_tokens` out) against the key's limits and budget (None: go
        ahead). With a chat request's response cache `plan`, its lookup rides on the same
        round trip (`team.cache.entry`: a hit)."""
        team = exchange.team
        assert team is not None
        team.model = requested
        team.estimate = size // 4 + 1
        out = max_tokens if isinstance(max_tokens, int) and max_tokens > 0 else 0
        price = self.prices.of(model) or self.prices.of(requested)
        cost = math.ceil(team.estimate * price[0] + out * price[1]) if price else 0
        try:
            if self.spool:
                await self._flush()
            a = await self.store.reserve(
                team.key_hash, requested, team.request_id, team.estimate + out, cost,
                plan.probe if plan is not None else None,
            )  # fmt: skip
        except StoreDownError as exc:
            known = self._known.get(team.key_hash) if self.fail_open else None
            if known is None:
                log.warning("state store unreachable: %s", exc)
                self.metrics.refuse("-", "store_down")
                return Failure(
                    503, "server_error", "the gateway's state store is unreachable",
                    retry_after=1.0,
                )  # fmt: skip
            team.admission = known  # fail-open: admitted unchecked, usage spooled
            return None
        team.admission = a
        team.headers = _headers(a)
        if a.outcome == "ok" and a.budget >= 0 and price is None:
            a = Admission("budget-price", a.key_id, a.name)
        if a.outcome != "ok":
            self.metrics.refuse(a.name or "-", a.outcome)
            if a.outcome == "budget-price":
                await self._settle(exchange, team, 0, 0)  # give the reservation back
                return Failure(
                    403, "permission_error",
                    f"no price for the model {model[:100]!r}: a key with a budget can only use "
                    "priced models (see --prices)",
                )  # fmt: skip
            team.settled = True  # nothing was reserved
            return _refusal(a, requested)
        team.reserved_cost = cost
        team.reserved_tokens = team.estimate + out
        self.cache.learn(team.key_hash, a.cache)
        if plan is not None:
            team.cache = self.cache.admitted(exchange, plan, a)
        if self.fail_open:
            self._known[team.key_hash] = a
            self._known.move_to_end(team.key_hash)
            if len(self._known) > _KNOWN_KEYS:
                self._known.popitem(last=False)
        return None

    def wrap(self, send: Any, team: TeamRequest) -> Any:
        """`send` with the rate-limit headers added and the body messages counted."""

        async def wrapped(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start" and team.headers:
                message = {**message, "headers": [*message.get("headers", ()), *team.headers]}
            elif message["type"] == "http.response.body" and message.get("body"):
                team.events += 1
            await send(message)

        return wrapped

    async def settle(self, exchange: Exchange) -> None:
        team = exchange.team
        if team is None or team.settled or team.admission is None:
            return
        prompt, completion = exchange.prompt_tokens, exchange.completion_tokens
        if exchange.cache == "hit":  # answered by the cache: no tokens, no cost
            prompt = completion = 0
        elif not (prompt or completion) and team.events:  # ended early: what was sent
            prompt, completion = team.estimate, team.events
        await self._settle(exchange, team, prompt, completion)

    async def _settle(self, exchange: Exchange, team: TeamRequest, prompt: int, out: int) -> None:
        team.settled = True
        a = team.admission
        assert a is not None
        cost = self.prices.cost(team.model, prompt, out)
        if cost is None:
            cost = 0
        usage = Usage(
            team.request_id, a.key_id, a.name, team.model, exchange.provider or "",
            prompt, out, cost, round((time.perf_counter() - exchange.start) * 1000, 3),
            exchange.status, time.time(), team.reserved_cost, team.reserved_tokens,
            exchange.cache == "hit",
        )  # fmt: skip
        self.metrics.observe(a.name, team.model, prompt, out, cost)
        self._pending.append((usage, prompt + out))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write())

    async def _write(self) -> None:
        """Write settled requests behind the answers, in batches (one transaction or one
        pipeline each): the caller's connection is not held while its usage is written."""
        while self._pending:
            await asyncio.sleep(_BATCH_SECONDS)  # gather the answers finishing meanwhile
            batch, self._pending = self._pending, []
            try:
                await self._flush()
                await self.store.settle_many(batch)
            except StoreDownError:
                for usage, tokens in batch:
                    self._spool(usage, tokens)
            except Exception as exc:  # a bug: keep the records, say so
                log.error("cannot record usage", exc_info=exc)
                for usage, tokens in batch:
                    self._spool(usage, tokens)

    async def drain(self) -> None:
        """Wait until every settled request of this process is written (or spooled)."""
        while self._writer is not None and not self._writer.done():
            await asyncio.shield(self._writer)

    # -- the spool: usage recorded while the store was down ------------------------------------

    def _spool(self, usage: Usage, tokens: int) -> None:
        self.spool.append((usage, tokens))
        try:
            self.spool_file.parent.mkdir(parents=True, exist_ok=True)
            with self.spool_file.open("a", encoding="utf-8") as file:
                file.write(json.dumps({"usage": usage.to_json(), "tokens": tokens}) + "\n")
        except OSError as exc:
            log.warning("cannot write the usage spool %s: %s", self.spool_file, exc)

    async def _flush(self) -> None:
        """Settle what was spooled, oldest first (settling is idempotent per request)."""
        if not self.spool:
            return
        batch, self.spool = self.spool, []  # taken first: concurrent flushes never repeat it
        try:
            await self.store.settle_many(batch)
        except StoreDownError:
            self.spool[:0] = batch
            raise
        if not self.spool:
            with contextlib.suppress(OSError):
                self.spool_file.unlink()

    async def flush(self) -> int:
        """Flush the spool now; how many records are still waiting."""
        with contextlib.suppress(StoreDownError):
            await self._flush()
        return len(self.spool)

    async def close(self) -> None:
        """At shutdown: the last writes, a last try at the spool, then the store."""
        await self.drain()
        left = await self.flush()
        if left:
            log.warning("%d usage records still spooled in %s", left, self.spool_file)
        await self.store.close()
