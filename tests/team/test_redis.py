"""The team layer on a real redis-server shared by two gateway instances (each its own server,
event loop and Redis connections: they share nothing but Redis)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from llmrelay.server.config import GatewayConfig
from llmrelay.server.team.state.base import open_store
from support.fake_openai import FakeOpenAI

from .conftest import RedisServer, admin, burst, create_key, gateways, team_config

T = TypeVar("T")


def redis_config(
    upstream: FakeOpenAI, redis: RedisServer, tmp_path: Path, **changes: object
) -> GatewayConfig:
    return team_config(upstream, redis.url, tmp_path, **changes)


def test_a_limit_holds_across_two_instances(
    upstream: FakeOpenAI, redis_server: RedisServer, tmp_path: Path
) -> None:
    config = redis_config(upstream, redis_server, tmp_path)
    with gateways([config, config]) as (one, two):
        key = create_key(one.url, rpm=10)["key"]
        results = burst([one.url, two.url], key, 20)
    statuses = sorted(status for status, _, _ in results)
    assert statuses == [200] * 10 + [429] * 10
    refused = [headers for status, headers, _ in results if status == 429]
    assert all(1 <= int(h["retry-after"]) <= 60 for h in refused)


def test_a_budget_holds_across_two_instances(
    upstream: FakeOpenAI, redis_server: RedisServer, tmp_path: Path
) -> None:
    config = redis_config(upstream, redis_server, tmp_path)
    with gateways([config, config]) as (one, two):
        key = create_key(one.url, budget=0.1)
        results = []
        for _ in range(3):
            results += burst([one.url, two.url], key["key"], 10)
        admitted = sum(status == 200 for status, _, _ in results)
        # each instance writes usage behind its answers: wait for the other one's (bounded)
        usage = {"data": _eventually(
            lambda: admin(two.url, "GET", f"/v1/usage?key={key['id']}")[1]["data"], admitted, len
        )}  # fmt: skip
    spent = asyncio.run(_spend(redis_server.url, key["id"]))
    assert {status for status, _, _ in results} == {200, 402}
    assert len(usage["data"]) == admitted
    total = sum(record["cost"] for record in usage["data"])
    assert total <= 0.1
    assert spent / 1e6 == round(total, 6)


async def _spend(url: str, key_id: str) -> int:
    store = open_store(url)  # its own connection, on this loop
    try:
        return await store.spend(key_id)
    finally:
        await store.close()


def test_revoked_keys_are_refused_at_once_on_every_instance(
    upstream: FakeOpenAI, redis_server: RedisServer, tmp_path: Path
) -> None:
    config = redis_config(upstream, redis_server, tmp_path)
    with gateways([config, config]) as (one, two):
        key = create_key(one.url)
        assert burst([two.url], key["key"], 1)[0][0] == 200
        assert admin(one.url, "DELETE", f"/v1/admin/keys/{key['id']}")[0] == 200
        after = burst([two.url, one.url], key["key"], 2)
    assert [status for status, _, _ in after] == [401, 401]


def test_keys_are_hashed_at_rest_in_redis(
    upstream: FakeOpenAI, redis_server: RedisServer, tmp_path: Path
) -> None:
    import redis

    config = redis_config(upstream, redis_server, tmp_path)
    with gateways([config]) as (gw,):
        key = create_key(gw.url)["key"]
    client = redis.Redis.from_url(redis_server.url)
    try:
        dump = b"".join(
            name + b"".join(str(v).encode() for v in _values(client, name))
            for name in client.scan_iter()
        )
    finally:
        client.close()
    assert key.encode() not in dump
    assert b"lr:key:" in dump


def _values(client: object, name: bytes) -> list[object]:
    kind = client.type(name)  # type: ignore[attr-defined]
    if kind == b"hash":
        return list(client.hgetall(name).items())  # type: ignore[attr-defined]
    if kind == b"string":
        return [client.get(name)]  # type: ignore[attr-defined]
    if kind == b"set":
        return list(client.smembers(name))  # type: ignore[attr-defined]
    return []


def test_redis_restarted_mid_traffic(
    upstream: FakeOpenAI, redis_server: RedisServer, tmp_path: Path
) -> None:
    """Fail closed: 503 while Redis is down. Fail open: keys seen valid are served and their
    usage is spooled, then written when Redis is back: every request is accounted for."""
    closed = redis_config(upstream, redis_server, tmp_path)
    opened = closed.with_(state_fail_open=True, state_spool=str(tmp_path / "open.jsonl"))
    with gateways([closed, opened]) as (strict, lenient):
        key = create_key(strict.url, rpm=1000)
        before = burst([strict.url, lenient.url], key["key"], 10)
        # usage is written just behind the answers: let it land before the outage, so that
        # the spool holds the outage's records alone (bounded wait)
        _eventually(lambda: admin(strict.url, "GET", f"/v1/usage?key={key['id']}")[1]["data"],
                    10, len)  # fmt: skip
        redis_server.stop()
        down_strict = burst([strict.url], key["key"], 3)
        down_lenient = burst([lenient.url], key["key"], 3)
        team = lenient.app.team
        assert team is not None
        # settling runs after the answer is sent: wait for it (bounded)
        spooled = _eventually(lambda: len(team.spool), 3)
        redis_server.start()
        after = burst([strict.url, lenient.url], key["key"], 4)
        usage = _eventually(
            lambda: admin(strict.url, "GET", f"/v1/usage?key={key['id']}")[1]["data"], 17, len
        )
        left = len(team.spool)
    assert [s for s, _, _ in before] == [200] * 10
    assert [s for s, _, _ in down_strict] == [503] * 3
    assert "state store" in json.loads(down_strict[0][2])["error"]["message"]
    assert [s for s, _, _ in down_lenient] == [200] * 3
    assert spooled == 3
    assert [s for s, _, _ in after] == [200] * 4
    assert left == 0
    assert len(usage) == 10 + 3 + 4
    assert len({r["request_id"] for r in usage}) == 17
    assert {r["status"] for r in usage} == {200}


def _eventually(
    probe: Callable[[], T], wanted: int, size: Callable[[T], int] = int, seconds: float = 10
) -> T:
    """`probe()` once `size(probe()) == wanted`, or its last value after `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        value = probe()
        if size(value) == wanted or time.monotonic() > deadline:
            return value
        time.sleep(0.01)
