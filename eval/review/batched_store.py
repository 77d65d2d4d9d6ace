"""The review store behind the web app: every SQLite call on one worker thread, and changes that arrive while
a transaction commits committed together in the next one (one fsync per batch); a request is answered only
once its change is committed."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from eval.review.store import Store


class BatchedStore:
    def __init__(self, path: Path):
        self.path = path
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="review-store")
        self.store: Store | None = None
        self._pending: list[tuple[list, asyncio.Future]] = []
        self._writer: asyncio.Task | None = None

    async def call(self, fn, *args):
        """``fn(*args)`` on the store's thread; ``fn`` may be a method name of the store."""
        if isinstance(fn, str):
            fn = getattr(self.store, fn)
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)

    async def open(self) -> tuple[list, list]:
        """Open the store; returns (every rating, every mark) to rebuild the in-memory progress."""
        self.store = await self.call(Store, self.path)
        return await self.call("all_ratings"), await self.call("all_marks")

    async def commit(self, change: list) -> None:
        """Queue one change and wait until the transaction holding it has committed."""
        done = asyncio.get_running_loop().create_future()
        self._pending.append((change, done))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_batches())
        await done

    async def _write_batches(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, []
            try:
                await self.call("apply", [change for change, _ in batch])
            except Exception as exc:  # handed to every waiting request
                for _, done in batch:
                    done.set_exception(exc)
            else:
                for _, done in batch:
                    done.set_result(None)

    async def close(self) -> None:
        if self._writer is not None:
            await self._writer
        if self.store is not None:
            await self.call("close")
            self.store = None
        self.executor.shutdown(wait=True)
