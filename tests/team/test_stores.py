"""Both state backends behind one interface: the same reservations, windows and settling."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from llmrelay.server.team.ops import make_key
from llmrelay.server.team.records import Usage
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
