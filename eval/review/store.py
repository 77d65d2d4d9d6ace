"""Ratings in SQLite (WAL, synchronous=FULL: a rating acknowledged to the page survives a crash).

Tables: ``ratings`` (rater, item, criterion -> score), ``marks`` (rater, item -> skip | not_my_language)
and ``sessions`` (hash of a per-session token -> rater). Writes are upserts, so a rating sent twice leaves
one row. A mark (skip, not my language) hides the rater's scores on the item without deleting them: a
marked item contributes no score (``all_ratings``, ``item_state``), and removing the mark brings its
scores back (``kept_scores`` lists them meanwhile), so a mark set by a slip loses nothing. Scoring a
marked item clears the mark and starts the item afresh (the hidden scores go). The database and its
WAL files are private (0600): they hold every rater's work. Not thread-safe: the server calls it from
one worker thread, batching concurrent changes into one transaction (``apply``).
"""

from __future__ import annotations

import os
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


VISIBLE = "NOT EXISTS (SELECT 1 FROM marks m WHERE m.rater = r.rater AND m.item_id = r.item_id)"


def _make_private(path: Path) -> None:
    """Create the database 0600 (SQLite gives its -wal and -shm files the same mode); tighten an older one."""
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    for p in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        try:
            if p.stat().st_mode & 0o077:
                os.chmod(p, 0o600)
        except FileNotFoundError:
            pass


class Store:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        _make_private(self.path)
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
            (  # scores hidden under a mark go: scoring a marked item starts it afresh
                "DELETE FROM ratings WHERE rater = ? AND item_id = ? AND EXISTS "
                "(SELECT 1 FROM marks WHERE rater = ? AND item_id = ?)",
                (rater, item_id, rater, item_id),
            ),
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
        """(the rater's scores on the item by criterion, the rater's mark or None); marked: no scores."""
        mark = self.db.execute(
            "SELECT mark FROM marks WHERE rater = ? AND item_id = ?", (rater, item_id)
        ).fetchone()
        return ({} if mark else self._scores(rater, item_id)), mark[0] if mark else None

    def item_view(self, rater: str, item_id: str) -> tuple[dict[str, int], str | None, dict[str, int]]:
        """(scores, mark, the scores the mark hides) read together, so no change lands between them."""
        scores, mark = self.item_state(rater, item_id)
        return scores, mark, self._scores(rater, item_id) if mark else {}

    def kept_scores(self, rater: str, item_id: str) -> dict[str, int]:
        """The scores a mark hides on the item (they come back when the mark is removed); {} if unmarked."""
        return self._scores(rater, item_id) if self.item_state(rater, item_id)[1] else {}

    def _scores(self, rater: str, item_id: str) -> dict[str, int]:
        return dict(
            self.db.execute(
                "SELECT criterion, score FROM ratings WHERE rater = ? AND item_id = ?", (rater, item_id)
            )
        )

    def session_rater(self, token_sha256: str) -> str | None:
        row = self.db.execute("SELECT rater FROM sessions WHERE token_sha256 = ?", (token_sha256,)).fetchone()
        return row[0] if row else None

    def all_ratings(self) -> list[tuple[str, str, str, int]]:
        """(item_id, rater, criterion, score) in a stable order; scores hidden under a mark are left out."""
        return list(
            self.db.execute(
                f"SELECT item_id, rater, criterion, score FROM ratings r WHERE {VISIBLE} "
                "ORDER BY item_id, rater, criterion"
            )
        )

    def all_marks(self) -> list[tuple[str, str, str]]:
        """(item_id, rater, mark) in a stable order."""
        return list(self.db.execute("SELECT item_id, rater, mark FROM marks ORDER BY item_id, rater"))
