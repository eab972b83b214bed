"""The Redis backend: many gateway instances share keys, limits, spend and usage.

Check-and-count is one Lua script (atomic server-side, one round trip); settling is another.
The clock is Redis's own (`TIME`), so instances with skewed clocks still share one window.
Layout: `lr:key:<sha256>` (hash: the key record), `lr:id:<id>` → sha256, `lr:keys` (set of
sha256), `lr:win:<id>` (zset request id → ms), `lr:tok:<id>` (hash request id → tokens),
`lr:sum:<id>` (their total), `lr:spend:<id>` (micro-USD), `lr:usage` (list of JSON records),
`lr:done:<request id>` (settled: replays of the spool are idempotent), `lr:cache:<scope>:<sha256
of the normalised request>` (a cached answer, `SET … PX`: Redis expires it). Key hashes written
before the cache have no `cache`/`cache_ttl` fields: both read them as off and 0.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ..records import Admission, KeyRecord, StoreDownError, Usage
from .base import WINDOW, Probe

__all__ = ["RedisStore"]

_RESERVE = """
local k = redis.call('HMGET', 'lr:key:' .. ARGV[1],
  'id', 'name', 'models', 'rpm', 'tpm', 'budget', 'expires', 'revoked', 'cache', 'cache_ttl')
if not k[1] then return {'nokey'} end
local id, name = k[1], k[2]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if k[8] == '1' then return {'revoked', id, name} end
local expires = tonumber(k[7])
if expires > 0 and now >= expires then return {'expired', id, name} end
if k[3] ~= '' and not string.find(k[3], '\\n' .. ARGV[2] .. '\\n', 1, true) then
  return {'model', id, name}
end
local win, tok, sp, sum = 'lr:win:' .. id, 'lr:tok:' .. id, 'lr:spend:' .. id, 'lr:sum:' .. id
local edge = now - tonumber(ARGV[6])
local old = redis.call('ZRANGEBYSCORE', win, '-inf', edge)
if #old > 0 then
  redis.call('ZREMRANGEBYSCORE', win, '-inf', edge)
  local gone = 0
  for i = 1, #old, 1000 do
    local part = {unpack(old, i, math.min(i + 999, #old))}
    for _, v in ipairs(redis.call('HMGET', tok, unpack(part))) do
      gone = gone + (tonumber(v) or 0)
    end
    redis.call('HDEL', tok, unpack(part))
  end
  redis.call('DECRBY', sum, gone)
end
local rpm, tpm, budget = tonumber(k[4]), tonumber(k[5]), tonumber(k[6])
local count = redis.call('ZCARD', win)
local used = 0
if count > 0 then used = tonumber(redis.call('GET', sum) or '0') else redis.call('DEL', sum) end
local first = redis.call('ZRANGE', win, 0, 0, 'WITHSCORES')
local reset = tonumber(ARGV[6])
if first[2] then reset = tonumber(first[2]) + tonumber(ARGV[6]) - now end
local spend = tonumber(redis.call('GET', sp) or '0')
local tokens, cost = tonumber(ARGV[4]), tonumber(ARGV[5])
local outcome = 'ok'
if rpm > 0 and count >= rpm then outcome = 'rpm'
elseif tpm > 0 and count > 0 and used + tokens > tpm then outcome = 'tpm'
elseif budget >= 0 and spend + cost > budget then outcome = 'budget'
else
  redis.call('ZADD', win, now, ARGV[3])
  redis.call('HSET', tok, ARGV[3], tokens)
  redis.call('PEXPIRE', win, ARGV[6] + 1000)
  redis.call('PEXPIRE', tok, ARGV[6] + 1000)
  redis.call('INCRBY', sum, tokens)
  redis.call('PEXPIRE', sum, ARGV[6] + 1000)
  spend = redis.call('INCRBY', sp, cost)
  count = count + 1
  used = used + tokens
end
local cache, entry = k[9] or 'off', false
if outcome == 'ok' and ARGV[8] ~= '' and cache ~= 'off' then
  local scope = ARGV[7]
  if scope == '' then scope = id end
  entry = redis.call('GET', 'lr:cache:' .. scope .. ':' .. ARGV[8])
end
return {outcome, id, name, rpm, tpm, budget, count, used, reset, spend, cache,
  tonumber(k[10] or '0'), entry}
"""

_SETTLE = """
if not redis.call('SET', 'lr:done:' .. ARGV[2], '1', 'EX', 86400, 'NX') then return 0 end
if redis.call('ZSCORE', 'lr:win:' .. ARGV[1], ARGV[2]) then
  local was = tonumber(redis.call('HGET', 'lr:tok:' .. ARGV[1], ARGV[2]) or '0')
  redis.call('HSET', 'lr:tok:' .. ARGV[1], ARGV[2], ARGV[3])
  redis.call('INCRBY', 'lr:sum:' .. ARGV[1], tonumber(ARGV[3]) - was)
end
redis.call('INCRBY', 'lr:spend:' .. ARGV[1], ARGV[4])
redis.call('RPUSH', 'lr:usage', ARGV[5])
return 1
"""

_FIELDS = ("id", "name", "models", "rpm", "tpm", "budget", "expires", "revoked", "created",
           "cache", "cache_ttl")  # fmt: skip


class RedisStore:
    def __init__(self, url: str, timeout: float = 1.0) -> None:
        self.url = url
        self.timeout = timeout
        self._client: Any = None
        self._reserve: Any = None
        self._settle: Any = None

    def _redis(self) -> Any:
        if self._client is None:  # made on first use, on the loop that serves requests
            import redis.asyncio as aioredis

            self._client = aioredis.Redis.from_url(
                self.url,
                socket_timeout=self.timeout,
                socket_connect_timeout=self.timeout,
                decode_responses=True,
            )
            self._reserve = self._client.register_script(_RESERVE)
            self._settle = self._client.register_script(_SETTLE)
        return self._client

    async def _call(self, what: Any) -> Any:
        from redis.exceptions import ConnectionError, TimeoutError

        try:
            return await what
        except (ConnectionError, TimeoutError, OSError) as exc:
            raise StoreDownError(f"redis: {type(exc).__name__}") from None

    async def reserve(
        self,
        key_hash: str,
        model: str,
        request_id: str,
        tokens: int,
        cost: int,
        probe: Probe | None = None,
    ) -> Admission:
        self._redis()
        scope, digest = probe or ("", "")
        args = [key_hash, model, request_id, tokens, cost, int(WINDOW * 1000), scope, digest]
        reply = await self._call(self._reserve(args=args))
        if len(reply) < 10:
            return Admission(reply[0], *reply[1:3])
        outcome, key_id, name = reply[0], reply[1], reply[2]
        rpm, tpm, budget, count, used, reset, spend = (int(v) for v in reply[3:10])
        return Admission(
            outcome, key_id, name, rpm, tpm, budget, count, used, max(reset, 0) / 1000, spend,
            reply[10], int(reply[11]), reply[12],
        )  # fmt: skip

    async def cache_put(self, scope: str, digest: str, entry: str, ttl: float) -> None:
        name = f"lr:cache:{scope}:{digest}"
        await self._call(self._redis().set(name, entry, px=max(int(ttl * 1000), 1)))

    async def settle_many(self, settled: Sequence[tuple[Usage, int]]) -> None:
        # Pipelines as context managers: leaving one resets it, which gives its connection back
        # even when execute() failed before its own cleanup (loading the scripts while Redis is
        # down or freshly restarted), instead of leaking it to the garbage collector.
        async with self._redis().pipeline(transaction=False) as pipe:
            for usage, tokens in settled:
                delta = usage.cost - usage.reserved_cost
                args = [usage.key_id, usage.request_id, tokens, delta, json.dumps(usage.to_json())]
                await self._settle(args=args, client=pipe)  # queued on the pipeline
            await self._call(pipe.execute())

    async def lookup(self, key_hash: str) -> KeyRecord | None:
        data = await self._call(self._redis().hgetall("lr:key:" + key_hash))
        return _record(key_hash, data) if data else None

    async def create_key(self, record: KeyRecord) -> None:
        r = record
        mapping = {
            "id": r.id, "name": r.name, "models": "".join(f"\n{m}" for m in r.models) + "\n"
            if r.models else "", "rpm": r.rpm, "tpm": r.tpm, "budget": r.budget,
            "expires": int(r.expires * 1000), "revoked": int(r.revoked), "created": r.created,
            "cache": r.cache, "cache_ttl": r.cache_ttl,
        }  # fmt: skip
        async with self._redis().pipeline(transaction=True) as pipe:
            pipe.hset("lr:key:" + r.hash, mapping=mapping)
            pipe.set("lr:id:" + r.id, r.hash)
            pipe.sadd("lr:keys", r.hash)
            await self._call(pipe.execute())

    async def list_keys(self) -> list[KeyRecord]:
        client = self._redis()
        hashes = sorted(await self._call(client.smembers("lr:keys")))
        async with client.pipeline(transaction=False) as pipe:
            for h in hashes:
                pipe.hgetall("lr:key:" + h)
            rows = await self._call(pipe.execute())
        records = [_record(h, row) for h, row in zip(hashes, rows, strict=True) if row]
        return sorted(records, key=lambda r: r.created)

    async def revoke(self, key_id: str) -> bool:
        client = self._redis()
        key_hash = await self._call(client.get("lr:id:" + key_id))
        if not key_hash:
            return False
        await self._call(client.hset("lr:key:" + key_hash, "revoked", 1))
        return True

    async def spend(self, key_id: str) -> int:
        return int(await self._call(self._redis().get("lr:spend:" + key_id)) or 0)

    async def usage(self, since: float | None = None, key: str | None = None) -> list[Usage]:
        rows = await self._call(self._redis().lrange("lr:usage", 0, -1))
        records = [Usage.from_json(json.loads(row)) for row in rows]
        return [
            u for u in records if (since is None or u.at >= since) and (not key or u.key_id == key)
        ]

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None


def _record(key_hash: str, data: dict[str, str]) -> KeyRecord:
    models = tuple(m for m in data.get("models", "").split("\n") if m)
    return KeyRecord(
        data["id"], key_hash, data["name"], models, int(data["rpm"]), int(data["tpm"]),
        int(data["budget"]), int(data["expires"]) / 1000, data["revoked"] == "1",
        float(data["created"]), data.get("cache") or "off", int(data.get("cache_ttl") or 0),
    )  # fmt: skip
