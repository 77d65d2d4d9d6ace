"""Micro-batching for in-process backends: requests that arrive together run as one batch.

The first waiting request opens a batch; requests arriving within ``wait_s`` (up to ``max_batch_size``)
join it. The batch runs in a worker thread so the event loop keeps scheduling the other dialogues,
whose next requests then form the following batch.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from moud_core.backends.base import ChatRequest, ChatResponse
from moud_core.errors import BackendError


class RequestBatcher:
    def __init__(
        self,
        run_batch: Callable[[list[ChatRequest]], list[ChatResponse]],
        max_batch_size: int,
        wait_s: float,
        what: str = "generation",
    ):
        self.run_batch, self.max_batch_size, self.wait_s, self.what = run_batch, max_batch_size, wait_s, what
        self._queue: asyncio.Queue | None = None
        self._worker: asyncio.Task | None = None

    async def submit(self, request: ChatRequest) -> ChatResponse:
        if self._queue is None or self._worker is None or self._worker.done():
            self._queue = asyncio.Queue()
            self._worker = asyncio.create_task(self._loop())
        fut = asyncio.get_running_loop().create_future()
        await self._queue.put((request, fut))
        return await fut

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = [await self._queue.get()]
            deadline = loop.time() + self.wait_s
            while len(batch) < self.max_batch_size:
                timeout = deadline - loop.time()
                if timeout <= 0:
                    break
                try:
                    batch.append(await asyncio.wait_for(self._queue.get(), timeout))
                except asyncio.TimeoutError:
                    break
            while len(batch) < self.max_batch_size and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                results = await loop.run_in_executor(None, self.run_batch, [r for r, _ in batch])
            except Exception as exc:  # a failed batch fails its requests, not the worker
                err = (
                    exc
                    if isinstance(exc, BackendError)
                    else BackendError(f"{self.what} failed: {exc}", "generation_error")
                )
                for _, fut in batch:
                    if not fut.done():
                        fut.set_exception(err)
                continue
            for (_, fut), res in zip(batch, results, strict=True):
                if not fut.done():
                    fut.set_result(res)

    def close(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            self._worker = None
