"""Every CLI exchange in a SQLite database (`<data dir>/logs.db`), searchable with FTS5."""

from __future__ import annotations

import sqlite3
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["Exchange", "LogStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS exchanges (
    id INTEGER PRIMARY KEY,
    conversation TEXT NOT NULL,
    created REAL NOT NULL,
    duration_ms INTEGER,
    provider TEXT,
    model TEXT,
    system TEXT,
    prompt TEXT NOT NULL,
    answer TEXT NOT NULL,
    prompt_tokens INTEGER,
    completion_tokens INTEGER
);
CREATE INDEX IF NOT EXISTS exchanges_conversation ON exchanges(conversation, id);
CREATE VIRTUAL TABLE IF NOT EXISTS exchanges_fts USING fts5(
    prompt, answer, content='exchanges', content_rowid='id'
);
CREATE TRIGGER IF NOT EXISTS exchanges_ai AFTER INSERT ON exchanges BEGIN
    INSERT INTO exchanges_fts(rowid, prompt, answer) VALUES (new.id, new.prompt, new.answer);
END;
"""


@dataclass(frozen=True)
class Exchange:
    id: int
    conversation: str
    created: float
    duration_ms: int | None
    provider: str | None
    model: str | None
    system: str | None
    prompt: str
    answer: str
    prompt_tokens: int | None
    completion_tokens: int | None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class LogStore:
    """The log database; created on first use."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path)
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    @staticmethod
    def new_conversation() -> str:
        return uuid.uuid4().hex

    def record(
        self,
        conversation: str,
        prompt: str,
        answer: str,
        *,
        provider: str | None,
        model: str | None,
        system: str | None = None,
        duration_ms: int | None = None,
        prompt_tokens: int | None = None,
        completion_tokens: int | None = None,
    ) -> None:
        with self._db:
            self._db.execute(
                "INSERT INTO exchanges (conversation, created, duration_ms, provider, model, "
                "system, prompt, answer, prompt_tokens, completion_tokens) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (conversation, time.time(), duration_ms, provider, model, system, prompt,
                 answer, prompt_tokens, completion_tokens),
            )  # fmt: skip

    def _rows(self, sql: str, params: tuple[Any, ...]) -> list[Exchange]:
        return [Exchange(*row) for row in self._db.execute(sql, params)]

    def recent(self, limit: int = 10) -> list[Exchange]:
        rows = self._rows("SELECT * FROM exchanges ORDER BY id DESC LIMIT ?", (limit,))
        return rows[::-1]

    def search(self, query: str, limit: int = 10) -> list[Exchange]:
        """Full-text search (FTS5 syntax; a plain phrase is quoted), best match first."""
        phrase = '"' + query.replace('"', '""') + '"'
        return self._rows(
            "SELECT e.* FROM exchanges_fts f JOIN exchanges e ON e.id = f.rowid "
            "WHERE exchanges_fts MATCH ? ORDER BY rank LIMIT ?",
            (phrase, limit),
        )

    def last_conversation(self) -> str | None:
        row = self._db.execute("SELECT conversation FROM exchanges ORDER BY id DESC LIMIT 1")
        found = row.fetchone()
        return found[0] if found else None

    def conversation(self, conversation: str) -> list[Exchange]:
        return self._rows(
            "SELECT * FROM exchanges WHERE conversation = ? ORDER BY id", (conversation,)
        )
