"""Both state backends behind one interface: the same reservations, windows and settling."""

from __future__ import annotations

import asyncio
import gc
import sqlite3
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from llmrelay.server.team.ops import make_key
from llmrelay.server.team.records import StoreDownError, Usage
from llmrelay.server.team.state import redis as redis_state
from llmrelay.server.team.state import sqlite as sqlite_state
from llmrelay.server.team.state.base import Store, open_store

from .conftest import RedisServer


@pytest.fixture(params=["sqlite", "redis"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'state.db'}"
    else:
        server: RedisServer = request.getfixturevalue("redis_server")
        yield server.url


def _usage(key_id: str, request_id: str, cost: int, reserved: int, tokens: int = 0) -> Usage:
    return Usage(
        request_id, key_id, "k", "m", "p", 10, 2, cost, 1.0, 200, time.time(), reserved, tokens
    )


async def _with(url: str, work: object) -> None:
    store: Store = open_store(url)
    try:
        await work(store)  # type: ignore[operator]
    finally:
        await store.close()


def test_the_window_slides_and_its_token_total_follows(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_state, "WINDOW", 0.4)
    monkeypatch.setattr(redis_state, "WINDOW", 0.4)
    _, record = make_key("k", rpm=2, tpm=100)

    async def work(store: Store) -> None:
        await store.create_key(record)
        first = await store.reserve(record.hash, "m", "r1", 30, 0)
        second = await store.reserve(record.hash, "m", "r2", 30, 0)
        assert (first.outcome, second.outcome, second.requests, second.tokens) == (
            "ok", "ok", 2, 60,
        )  # fmt: skip
        await store.settle_many([(_usage(record.id, "r1", 0, 0, 30), 12)])
        await store.settle_many([(_usage(record.id, "r1", 0, 0, 30), 99)])  # a replay: ignored
        third = await store.reserve(record.hash, "m", "r3", 1, 0)
        assert third.outcome == "rpm"
        assert third.tokens == 42
        assert 0 < third.reset <= 0.4
        await asyncio.sleep(third.reset + 0.05)  # the window's own deadline
        fourth = await store.reserve(record.hash, "m", "r4", 50, 0)
        assert (fourth.outcome, fourth.requests, fourth.tokens) == ("ok", 1, 50)
        fifth = await store.reserve(record.hash, "m", "r5", 51, 0)
        assert fifth.outcome == "tpm"

    asyncio.run(_with(store_url, work))


def test_spend_is_reserved_then_settled_once(store_url: str) -> None:
    _, record = make_key("k", budget=1.0)

    async def work(store: Store) -> None:
        await store.create_key(record)
        assert (await store.reserve(record.hash, "m", "a", 1, 600_000)).outcome == "ok"
        refused = await store.reserve(record.hash, "m", "b", 1, 600_000)
        assert (refused.outcome, refused.spend) == ("budget", 600_000)
        await store.settle_many([(_usage(record.id, "a", 100_000, 600_000), 12)])
        await store.settle_many([(_usage(record.id, "a", 100_000, 600_000), 12)])
        assert await store.spend(record.id) == 100_000
        assert [u.request_id for u in await store.usage(key=record.id)] == ["a"]
        assert (await store.reserve(record.hash, "m", "c", 1, 600_000)).outcome == "ok"
        assert await store.revoke(record.id)
        assert (await store.reserve(record.hash, "m", "d", 1, 0)).outcome == "revoked"
        assert (await store.reserve("0" * 64, "m", "e", 1, 0)).outcome == "nokey"

    asyncio.run(_with(store_url, work))


def test_a_probe_rides_on_the_reservation(store_url: str) -> None:
    """The entry comes back with an admitted reservation of a key whose cache is not off; in
    the key's own scope ("") or the one given; Redis and SQLite expire it at its TTL."""
    _, on = make_key("on", cache="on")
    _, off = make_key("off")
    _, other = make_key("other", cache="always")

    async def work(store: Store) -> None:
        for record in (on, off, other):
            await store.create_key(record)
        await store.cache_put(on.id, "d1", '{"a":1}', 60)
        await store.cache_put(off.id, "d1", '{"a":2}', 60)
        await store.cache_put("shared", "d2", '{"a":3}', 60)
        got = await store.reserve(on.hash, "m", "r1", 1, 0, ("", "d1"))
        assert (got.outcome, got.cache, got.entry) == ("ok", "on", '{"a":1}')
        assert (await store.reserve(on.hash, "m", "r2", 1, 0)).entry is None  # no probe
        assert (await store.reserve(on.hash, "m", "r3", 1, 0, ("", "d2"))).entry is None
        assert (await store.reserve(on.hash, "m", "r4", 1, 0, ("shared", "d2"))).entry == (
            '{"a":3}'
        )
        assert (await store.reserve(other.hash, "m", "r5", 1, 0, ("", "d1"))).entry is None
        closed = await store.reserve(off.hash, "m", "r6", 1, 0, ("", "d1"))
        assert (closed.cache, closed.entry) == ("off", None)
        assert [(k.name, k.cache) for k in await store.list_keys()] == [
            ("on", "on"), ("off", "off"), ("other", "always"),
        ]  # fmt: skip
        await store.cache_put(on.id, "brief", "{}", 0.3)
        assert (await store.reserve(on.hash, "m", "r7", 1, 0, ("", "brief"))).entry == "{}"
        deadline = time.monotonic() + 5  # Redis's own expiry (SQLite: its clock), bounded
        if isinstance(store, sqlite_state.SQLiteStore):
            store.clock = lambda: time.time() + 1
        while (await store.reserve(on.hash, "m", "r8", 1, 0, ("", "brief"))).entry is not None:
            assert time.monotonic() < deadline, "the entry never expired"
            await asyncio.sleep(0.05)

    asyncio.run(_with(store_url, work))


def test_sqlite_keeps_a_bounded_number_of_entries(tmp_path: Path) -> None:
    store = sqlite_state.SQLiteStore(str(tmp_path / "state.db"), cache_entries=3)
    now = [1000.0]
    store.clock = lambda: now[0]
    _, key = make_key("k", cache="on")

    async def work() -> None:
        await store.create_key(key)
        for i in range(5):
            await store.cache_put(key.id, f"d{i}", "{}", 100 + i)  # d0 expires first
        kept = [
            (await store.reserve(key.hash, "m", f"r{i}", 1, 0, ("", f"d{i}"))).entry is not None
            for i in range(5)
        ]
        assert kept == [False, False, True, True, True]
        now[0] += 103.5  # d2 and d3 expired: the next write clears them
        await store.cache_put(key.id, "d5", "{}", 100)
        await store.close()

    asyncio.run(work())
    rows = sqlite3.connect(tmp_path / "state.db").execute("SELECT digest FROM cache").fetchall()
    assert sorted(rows) == [("d4",), ("d5",)]


_OLD_SQLITE_KEYS = """
CREATE TABLE keys (
  id TEXT PRIMARY KEY, hash TEXT UNIQUE NOT NULL, name TEXT NOT NULL, models TEXT NOT NULL,
  rpm INTEGER NOT NULL, tpm INTEGER NOT NULL, budget INTEGER NOT NULL, expires REAL NOT NULL,
  revoked INTEGER NOT NULL DEFAULT 0, created REAL NOT NULL, spend INTEGER NOT NULL DEFAULT 0,
  win_count INTEGER NOT NULL DEFAULT 0, win_tokens INTEGER NOT NULL DEFAULT 0);
INSERT INTO keys (id, hash, name, models, rpm, tpm, budget, expires, created)
  VALUES ('key_old', 'h0', 'old', '[]', 5, 0, -1, 0, 1.0);
"""


def test_keys_stored_before_the_cache_read_as_cache_off(store_url: str) -> None:
    """SQLite: the columns are added to an older database; Redis: hashes without the fields."""
    if store_url.startswith("sqlite"):
        with sqlite3.connect(store_url.removeprefix("sqlite:///")) as db:
            db.executescript(_OLD_SQLITE_KEYS)
    else:
        import redis

        client = redis.Redis.from_url(store_url)
        mapping = {"id": "key_old", "name": "old", "models": "", "rpm": 5, "tpm": 0,
                   "budget": -1, "expires": 0, "revoked": 0, "created": 1.0}  # fmt: skip
        client.hset("lr:key:h0", mapping=mapping)
        client.set("lr:id:key_old", "h0")
        client.sadd("lr:keys", "h0")
        client.close()

    async def work(store: Store) -> None:
        record = await store.lookup("h0")
        assert record is not None
        assert (record.name, record.rpm, record.cache, record.cache_ttl) == ("old", 5, "off", 0)
        got = await store.reserve("h0", "m", "r1", 1, 0, ("", "d"))
        assert (got.outcome, got.cache, got.entry) == ("ok", "off", None)
        _, new = make_key("new", cache="always", cache_ttl=60)
        await store.create_key(new)
        assert [(k.cache, k.cache_ttl) for k in await store.list_keys()] == [
            ("off", 0), ("always", 60),
        ]  # fmt: skip

    asyncio.run(_with(store_url, work))


def test_redis_dying_mid_settle_leaves_no_connection_behind() -> None:
    """A Redis that takes the connection and then drops it while the settle pipeline loads
    its script: StoreDownError, and the pipeline's connection is given back, not leaked."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while line := await reader.readline():
                if not line.startswith(b"*"):
                    continue
                args = []
                for _ in range(int(line[1:])):
                    await reader.readline()
                    args.append((await reader.readline()).strip().upper())
                if args[0] == b"SCRIPT":  # the handshake went through; now it dies
                    break
                writer.write(b"+OK\r\n")
                await writer.drain()
        finally:
            writer.close()

    async def work() -> list[str]:
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        store = redis_state.RedisStore(f"redis://127.0.0.1:{port}/0")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with pytest.raises(StoreDownError):
                await store.settle_many([(_usage("k", "r1", 0, 0), 2)])
            gc.collect()
        await store.close()
        server.close()
        await server.wait_closed()
        return [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]

    leaks = asyncio.run(work())
    assert not [w for w in leaks if "Unclosed client session" in w]
