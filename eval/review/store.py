"""Ratings in SQLite (WAL, synchronous=FULL: a rating acknowledged to the page survives a crash).

Tables: ``ratings`` (rater, item, criterion -> score), ``marks`` (rater, item -> skip | not_my_language)
and ``sessions`` (hash of a per-session token -> rater). Writes are upserts, so a rating sent twice leaves
one row. Scoring an item clears the rater's mark on it; marking an item removes the rater's scores on it,
so a skipped or "not my language" item never contributes a score. Not thread-safe: the server calls it
from one worker thread, batching concurrent changes into one transaction (``apply``).
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

MARKS = ("skip", "not_my_language")

SCHEMA = """
CREATE TABLE IF NOT EXISTS ratings (rater TEXT NOT NULL, item_id TEXT NOT NULL, criterion TEXT NOT NULL,
    score INTEGER NOT NULL, updated REAL NOT NULL, PRIMARY KEY (rater, item_id, criterion)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS marks (rater TEXT NOT NULL, item_id TEXT NOT NULL, mark TEXT NOT NULL,
    updated REAL NOT NULL, PRIMARY KEY (rater, item_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS sessions (token_sha256 TEXT PRIMARY KEY, rater TEXT NOT NULL,
    created REAL NOT NULL);
"""


class Store:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        self.db.close()

    def apply(self, changes: list[list[tuple[str, tuple]]]) -> None:
        """Run several changes (from ``score_change``, ``mark_change``, ``session_change``) in one
        transaction: one fsync for a whole batch of concurrent ratings."""
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            for change in changes:
                for sql, params in change:
                    self.db.execute(sql, params)

    @staticmethod
    def score_change(rater: str, item_id: str, criterion: str, score: int) -> list[tuple[str, tuple]]:
        return [
            (
                "INSERT INTO ratings VALUES (?, ?, ?, ?, ?) ON CONFLICT (rater, item_id, criterion) "
                "DO UPDATE SET score = excluded.score, updated = excluded.updated",
                (rater, item_id, criterion, score, time.time()),
            ),
            ("DELETE FROM marks WHERE rater = ? AND item_id = ?", (rater, item_id)),
        ]

    @staticmethod
    def mark_change(rater: str, item_id: str, mark: str | None) -> list[tuple[str, tuple]]:
        if mark is None:
            return [("DELETE FROM marks WHERE rater = ? AND item_id = ?", (rater, item_id))]
        if mark not in MARKS:
            raise ValueError(f"unknown mark {mark!r}")
        return [
            ("DELETE FROM ratings WHERE rater = ? AND item_id = ?", (rater, item_id)),
            (
                "INSERT INTO marks VALUES (?, ?, ?, ?) ON CONFLICT (rater, item_id) "
                "DO UPDATE SET mark = excluded.mark, updated = excluded.updated",
                (rater, item_id, mark, time.time()),
            ),
        ]

    @staticmethod
    def session_change(token_sha256: str, rater: str) -> list[tuple[str, tuple]]:
        return [("INSERT OR REPLACE INTO sessions VALUES (?, ?, ?)", (token_sha256, rater, time.time()))]

    def item_state(self, rater: str, item_id: str) -> tuple[dict[str, int], str | None]:
        """(the rater's scores on the item by criterion, the rater's mark or None)."""
        scores = dict(
            self.db.execute(
                "SELECT criterion, score FROM ratings WHERE rater = ? AND item_id = ?", (rater, item_id)
            )
        )
        mark = self.db.execute(
            "SELECT mark FROM marks WHERE rater = ? AND item_id = ?", (rater, item_id)
        ).fetchone()
        return scores, mark[0] if mark else None

    def session_rater(self, token_sha256: str) -> str | None:
        row = self.db.execute("SELECT rater FROM sessions WHERE token_sha256 = ?", (token_sha256,)).fetchone()
        return row[0] if row else None

    def all_ratings(self) -> list[tuple[str, str, str, int]]:
        """(item_id, rater, criterion, score) in a stable order."""
        return list(
            self.db.execute(
                "SELECT item_id, rater, criterion, score FROM ratings ORDER BY item_id, rater, criterion"
            )
        )

    def all_marks(self) -> list[tuple[str, str, str]]:
        """(item_id, rater, mark) in a stable order."""
        return list(self.db.execute("SELECT item_id, rater, mark FROM marks ORDER BY item_id, rater"))
