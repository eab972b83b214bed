"""The SQLite backend: one instance (or several worker processes on one host), WAL.

Each call is one short `BEGIN IMMEDIATE` transaction run on the event loop (tens of
microseconds): the write lock makes check-and-count atomic across processes too. Response
cache entries live in the `cache` table, bounded: expired rows go at each write, then the
soonest to expire past `cache_entries`. Databases made before the cache get its key columns
(`cache`, `cache_ttl`) added when opened.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

from ..records import Admission, KeyRecord, StoreDownError, Usage
from .base import CACHE_ENTRIES, WINDOW, Probe

__all__ = ["SQLiteStore"]

T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS keys (
  id TEXT PRIMARY KEY, hash TEXT UNIQUE NOT NULL, name TEXT NOT NULL, models TEXT NOT NULL,
  rpm INTEGER NOT NULL, tpm INTEGER NOT NULL, budget INTEGER NOT NULL, expires REAL NOT NULL,
  revoked INTEGER NOT NULL DEFAULT 0, created REAL NOT NULL, spend INTEGER NOT NULL DEFAULT 0,
  win_count INTEGER NOT NULL DEFAULT 0, win_tokens INTEGER NOT NULL DEFAULT 0,
  cache TEXT NOT NULL DEFAULT 'off', cache_ttl INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS window (
  request_id TEXT PRIMARY KEY, key_id TEXT NOT NULL, at REAL NOT NULL, tokens INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS window_key ON window (key_id, at);
CREATE TABLE IF NOT EXISTS usage (request_id TEXT PRIMARY KEY, key_id TEXT, at REAL, data TEXT);
CREATE INDEX IF NOT EXISTS usage_at ON usage (at);
CREATE TABLE IF NOT EXISTS cache (scope TEXT NOT NULL, digest TEXT NOT NULL,
  expires REAL NOT NULL, entry TEXT NOT NULL, PRIMARY KEY (scope, digest)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS cache_expires ON cache (expires);
"""
#: Columns added since the first schema: (name, definition), added to older databases.
_ADDED = (("cache", "TEXT NOT NULL DEFAULT 'off'"), ("cache_ttl", "INTEGER NOT NULL DEFAULT 0"))
_KEY_COLUMNS = (
    "id, hash, name, models, rpm, tpm, budget, expires, revoked, created, cache, cache_ttl"
)


def _record(row: tuple[object, ...]) -> KeyRecord:
    i, h, name, models, rpm, tpm, budget, expires, revoked, created, cache, ttl = row
    return KeyRecord(
        str(i), str(h), str(name), tuple(json.loads(str(models))), int(str(rpm)),
        int(str(tpm)), int(str(budget)), float(str(expires)), bool(revoked), float(str(created)),
        str(cache), int(str(ttl)),
    )  # fmt: skip


def _migrate(db: sqlite3.Connection) -> None:
    have = {row[1] for row in db.execute("PRAGMA table_info(keys)")}
    for name, definition in _ADDED:
        if name not in have:
            db.execute(f"ALTER TABLE keys ADD COLUMN {name} {definition}")


class SQLiteStore:
    def __init__(self, path: str, cache_entries: int = CACHE_ENTRIES) -> None:
        self.path = path
        self.cache_entries = cache_entries
        #: Epoch seconds, for the window and cache expiry (tests replace it).
        self.clock: Callable[[], float] = time.time
        self._db: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            if self.path != ":memory:":
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            try:
                db = sqlite3.connect(
                    self.path, isolation_level=None, check_same_thread=False, timeout=10
                )
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=NORMAL")
                db.executescript(_SCHEMA)
                _migrate(db)
            except sqlite3.Error as exc:
                raise StoreDownError(f"sqlite: {exc}") from None
            self._db = db
        return self._db

    def _immediate(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """`work(db)` in one `BEGIN IMMEDIATE` transaction (the write lock: atomic across
        processes). A plain call, not a context manager: this is every request's path."""
        with self._lock:
            db = self._conn()
            try:
                db.execute("BEGIN IMMEDIATE")
                try:
                    return work(db)
                finally:
                    db.execute("COMMIT")
            except sqlite3.OperationalError as exc:
                raise StoreDownError(f"sqlite: {exc}") from None

    def _write(self, sql: str, *args: object) -> int:
        with self._lock:
            db = self._conn()
            try:
                return db.execute(sql, args).rowcount
            except sqlite3.OperationalError as exc:
                raise StoreDownError(f"sqlite: {exc}") from None

    async def reserve(
        self,
        key_hash: str,
        model: str,
        request_id: str,
        tokens: int,
        cost: int,
        probe: Probe | None = None,
    ) -> Admission:
        def work(db: sqlite3.Connection) -> Admission:
            a = self._reserve(db, key_hash, model, request_id, tokens, cost)
            if probe is None or a.outcome != "ok" or a.cache == "off":
                return a
            row = db.execute(
                "SELECT entry FROM cache WHERE scope = ? AND digest = ? AND expires > ?",
                (probe[0] or a.key_id, probe[1], self.clock()),
            ).fetchone()
            return dataclasses.replace(a, entry=row[0]) if row else a

        return self._immediate(work)

    def _reserve(
        self, db: sqlite3.Connection, key_hash: str, model: str, rid: str, tokens: int, cost: int
    ) -> Admission:
        now = self.clock()
        row = db.execute(
            f"SELECT {_KEY_COLUMNS}, spend, win_count, win_tokens, (SELECT min(at) FROM window "
            "WHERE window.key_id = keys.id AND at > ?) FROM keys WHERE hash = ?",
            (now - WINDOW, key_hash),
        ).fetchone()
        if row is None:
            return Admission("nokey")
        key, spend, count, used = _record(row[:-4]), int(row[-4]), int(row[-3]), int(row[-2])
        oldest = row[-1]
        if key.revoked:
            return Admission("revoked", key.id, key.name)
        if key.expires and now >= key.expires:
            return Admission("expired", key.id, key.name)
        if key.models and model not in key.models:
            return Admission("model", key.id, key.name)
        edge = (key.id, now - WINDOW)
        gone = db.execute(
            "DELETE FROM window WHERE key_id = ? AND at <= ? RETURNING tokens", edge
        ).fetchall()
        if gone:
            count, used = count - len(gone), used - sum(row[0] for row in gone)
        reset = (oldest + WINDOW - now) if oldest is not None else WINDOW

        def verdict(outcome: str, requests: int, used_tokens: int, spent: int) -> Admission:
            return Admission(
                outcome, key.id, key.name, key.rpm, key.tpm, key.budget, requests, used_tokens,
                max(reset, 0.0), spent, key.cache, key.cache_ttl,
            )  # fmt: skip

        if key.rpm and count >= key.rpm:
            return verdict("rpm", count, used, spend)
        if key.tpm and count and used + tokens > key.tpm:
            return verdict("tpm", count, used, spend)
        if key.budget >= 0 and spend + cost > key.budget:
            return verdict("budget", count, used, spend)
        db.execute("INSERT INTO window VALUES (?, ?, ?, ?)", (rid, key.id, now, tokens))
        db.execute(
            "UPDATE keys SET spend = spend + ?, win_count = ?, win_tokens = ? WHERE id = ?",
            (cost, count + 1, used + tokens, key.id),
        )
        return verdict("ok", count + 1, used + tokens, spend + cost)

    async def settle_many(self, settled: Sequence[tuple[Usage, int]]) -> None:
        def work(db: sqlite3.Connection) -> None:
            for usage, tokens in settled:
                self._settle(db, usage, tokens)

        self._immediate(work)

    def _settle(self, db: sqlite3.Connection, usage: Usage, tokens: int) -> None:
        data = json.dumps(usage.to_json())
        new = db.execute(
            "INSERT OR IGNORE INTO usage VALUES (?, ?, ?, ?)",
            (usage.request_id, usage.key_id, usage.at, data),
        ).rowcount
        if not new:
            return  # settled before (a replay of the spool)
        in_window = db.execute(
            "UPDATE window SET tokens = ? WHERE request_id = ?", (tokens, usage.request_id)
        ).rowcount
        delta = tokens - usage.reserved_tokens if in_window else 0
        db.execute(
            "UPDATE keys SET spend = spend + ?, win_tokens = win_tokens + ? WHERE id = ?",
            (usage.cost - usage.reserved_cost, delta, usage.key_id),
        )

    async def lookup(self, key_hash: str) -> KeyRecord | None:
        with self._lock:
            row = (
                self._conn()
                .execute(f"SELECT {_KEY_COLUMNS} FROM keys WHERE hash = ?", (key_hash,))
                .fetchone()
            )
        return _record(row) if row else None

    async def create_key(self, record: KeyRecord) -> None:
        r = record
        self._write(
            f"INSERT INTO keys ({_KEY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            r.id, r.hash, r.name, json.dumps(list(r.models)), r.rpm, r.tpm, r.budget,
            r.expires, int(r.revoked), r.created, r.cache, r.cache_ttl,
        )  # fmt: skip

    async def cache_put(self, scope: str, digest: str, entry: str, ttl: float) -> None:
        now = self.clock()

        def work(db: sqlite3.Connection) -> None:
            db.execute("DELETE FROM cache WHERE expires <= ?", (now,))
            db.execute(
                "INSERT OR REPLACE INTO cache VALUES (?, ?, ?, ?)",
                (scope, digest, now + ttl, entry),
            )
            (count,) = db.execute("SELECT count(*) FROM cache").fetchone()
            if count > self.cache_entries:  # the soonest to expire go first
                db.execute(
                    "DELETE FROM cache WHERE (scope, digest) IN (SELECT scope, digest "
                    "FROM cache ORDER BY expires LIMIT ?)",
                    (count - self.cache_entries,),
                )

        self._immediate(work)

    async def list_keys(self) -> list[KeyRecord]:
        with self._lock:
            rows = self._conn().execute(f"SELECT {_KEY_COLUMNS} FROM keys ORDER BY created")
            return [_record(row) for row in rows.fetchall()]

    async def revoke(self, key_id: str) -> bool:
        return self._write("UPDATE keys SET revoked = 1 WHERE id = ?", key_id) > 0

    async def spend(self, key_id: str) -> int:
        with self._lock:
            row = self._conn().execute("SELECT spend FROM keys WHERE id = ?", (key_id,)).fetchone()
        return int(row[0]) if row else 0

    async def usage(self, since: float | None = None, key: str | None = None) -> list[Usage]:
        sql = "SELECT data FROM usage WHERE at >= ?"
        args: list[object] = [since or 0.0]
        if key:
            sql += " AND key_id = ?"
            args.append(key)
        with self._lock:
            rows = self._conn().execute(sql + " ORDER BY at", args).fetchall()
        return [Usage.from_json(json.loads(row[0])) for row in rows]

    async def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None
