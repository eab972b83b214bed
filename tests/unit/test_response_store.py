"""The gateway's store of responses: bounded by count, bytes and age, one caller's each."""

from __future__ import annotations

import hashlib

import pytest

from llmrelay.server import response_store
from llmrelay.server.response_store import ResponseStore, caller_scope

ITEM = [{"type": "message", "role": "user", "content": "x" * 100}]


def test_least_recently_used_goes_first_when_full() -> None:
    store = ResponseStore(size=2, ttl=60, max_bytes=10**6)
    store.put("a", "r1", "P", ITEM)
    store.put("a", "r2", "P", ITEM)
    assert store.get("a", "r1") is not None  # r1 used: r2 is now the oldest
    store.put("a", "r3", "P", ITEM)
    assert len(store) == 2
    assert store.get("a", "r2") is None
    assert store.get("a", "r1") is not None
    assert store.get("a", "r3") is not None


def test_bytes_bound_and_an_oversized_response_is_not_kept() -> None:
    store = ResponseStore(size=100, ttl=60, max_bytes=300)
    for i in range(5):
        store.put("a", f"r{i}", "P", ITEM)  # about 130 bytes each
    assert len(store) == 2
    store.put("a", "huge", "P", [{"content": "x" * 1000}])
    assert store.get("a", "huge") is None
    assert len(store) == 2


def test_entries_expire(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1000.0]
    monkeypatch.setattr(response_store.time, "monotonic", lambda: now[0])
    store = ResponseStore(size=10, ttl=30, max_bytes=10**6)
    store.put("a", "r1", "P", ITEM)
    now[0] += 29
    assert store.get("a", "r1") is not None
    now[0] += 2
    assert store.get("a", "r1") is None
    assert len(store) == 0


def test_another_callers_response_reads_as_unknown() -> None:
    store = ResponseStore(size=10, ttl=60, max_bytes=10**6)
    store.put("alice", "r1", "P", ITEM)
    assert store.get("bob", "r1") is None
    assert store.get("alice", "r1") is not None
    assert ResponseStore(size=0, ttl=60, max_bytes=10**6).get("alice", "r1") is None


def test_the_scope_is_a_hash_of_the_presented_key_never_the_key() -> None:
    digest = hashlib.sha256(b"sk-secret").hexdigest()
    assert caller_scope([(b"authorization", b"Bearer sk-secret")]) == digest
    assert caller_scope([(b"x-api-key", b"sk-secret")]) == digest
    assert caller_scope([(b"content-type", b"application/json")]) == ""
