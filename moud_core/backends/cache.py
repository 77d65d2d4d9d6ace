"""SQLite request cache: a Backend wrapper so a re-run re-sends no completed request.

Keys are ``ChatRequest.cache_key(model)`` (model, messages, sampling parameters, seed). Each response
is committed as soon as it arrives (WAL journal), so a process killed at any moment keeps every
response it had received.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from moud_core.backends.base import Backend, ChatRequest, ChatResponse

_SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
    key TEXT PRIMARY KEY,
    text TEXT NOT NULL,
    prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    finish_reason TEXT NOT NULL,
    latency_s REAL NOT NULL,
    reasoning_tokens INTEGER NOT NULL DEFAULT 0
)
"""


class RequestCache:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self.conn.execute("PRAGMA journal_mode=WAL")
        # WAL + synchronous=OFF: every committed response survives a killed process (the OS holds it);
        # only an OS crash or power loss can lose the last ones, which are then simply re-sent.
        self.conn.execute("PRAGMA synchronous=OFF")
        self.conn.execute(_SCHEMA)
        columns = {row[1] for row in self.conn.execute("PRAGMA table_info(responses)")}
        if "reasoning_tokens" not in columns:  # a cache written before reasoning was counted
            self.conn.execute("ALTER TABLE responses ADD COLUMN reasoning_tokens INTEGER NOT NULL DEFAULT 0")
        self.hits = 0
        self.misses = 0

    def get(self, key: str) -> ChatResponse | None:
        row = self.conn.execute(
            "SELECT text, prompt_tokens, completion_tokens, finish_reason, latency_s, reasoning_tokens"
            " FROM responses WHERE key=?",
            (key,),
        ).fetchone()
        if row is None:
            self.misses += 1
            return None
        self.hits += 1
        return ChatResponse(row[0], row[1], row[2], row[3], row[4], cached=True, reasoning_tokens=row[5])

    def put(self, key: str, resp: ChatResponse) -> None:
        self.conn.execute(
            "INSERT OR REPLACE INTO responses VALUES (?,?,?,?,?,?,?)",
            (
                key,
                resp.text,
                resp.prompt_tokens,
                resp.completion_tokens,
                resp.finish_reason,
                resp.latency_s,
                resp.reasoning_tokens,
            ),
        )

    def __len__(self) -> int:
        return self.conn.execute("SELECT COUNT(*) FROM responses").fetchone()[0]

    def close(self) -> None:
        self.conn.close()


class CachedBackend(Backend):
    """Wraps another backend; answers from the cache when the exact request was answered before."""

    def __init__(self, inner: Backend, path: str | Path):
        super().__init__(inner.model)
        self.inner = inner
        self.name = inner.name
        self.cache = RequestCache(path)

    async def chat(self, request: ChatRequest) -> ChatResponse:
        key = request.cache_key(self.model)
        hit = self.cache.get(key)
        if hit is not None:
            return hit
        resp = await self.inner.chat(request)
        self.cache.put(key, resp)
        return resp

    async def check(self) -> None:
        await self.inner.check()

    async def aclose(self) -> None:
        await self.inner.aclose()
        self.cache.close()

    def describe(self) -> dict:
        return self.inner.describe()

    def stats(self) -> dict:
        inner = getattr(self.inner, "stats", None)
        return {
            "cache_hits": self.cache.hits,
            "cache_misses": self.cache.misses,
            **(inner() if callable(inner) else {}),
        }
