"""Routing requests over several OpenAI-compatible endpoints: the least-loaded healthy endpoint with room,
waiting (FIFO) when every endpoint is at its limit, probing down endpoints, honouring Retry-After blocks."""

from __future__ import annotations

import asyncio
import time
from collections import deque

from moud_core.backends.http_endpoint import Endpoint
from moud_core.errors import BackendError


class EndpointPool:
    """The endpoints of one backend and the requests waiting for a slot (bound to one event loop)."""

    def __init__(self, endpoints: list[Endpoint], model: str):
        self.endpoints, self.model = endpoints, model
        self._waiters: deque[asyncio.Future] = deque()
        self._loop: asyncio.AbstractEventLoop | None = None

    def reset(self, loop: asyncio.AbstractEventLoop) -> None:
        """A new event loop: no request is in flight or waiting any more."""
        self._loop = loop
        self._waiters = deque()
        for ep in self.endpoints:
            ep.in_flight = 0

    def pick(self, avoid: Endpoint | None, now: float) -> tuple[Endpoint | None, float | None]:
        """(endpoint with room and the lowest load, None) or (None, seconds to wait if all are blocked)."""
        usable = [ep for ep in self.endpoints if ep.usable(now)]
        if usable:
            return self._least_loaded(usable, avoid), None
        # Nothing usable: every endpoint is down (cooling off) or blocked by Retry-After. Probe the
        # down ones anyway (the retry backoff paces this); wait out Retry-After blocks.
        live = [ep for ep in self.endpoints if not ep.disabled]
        if not live:
            raise BackendError(
                "no usable endpoint: none of "
                + ", ".join(e.url for e in self.endpoints)
                + f" serves model {self.model!r}",
                "client_error",
            )
        unblocked = [ep for ep in live if now >= ep.blocked_until]
        if not unblocked:
            return None, min(ep.blocked_until for ep in live) - now
        return self._least_loaded(unblocked, avoid), None

    @staticmethod
    def _least_loaded(endpoints: list[Endpoint], avoid: Endpoint | None) -> Endpoint | None:
        """The endpoint with room and the lowest load (the one to avoid counts one full load more)."""
        best, best_load = None, 3.0
        for ep in endpoints:
            if ep.has_room():
                load = ep.load() + (1.0 if ep is avoid else 0.0)
                if load < best_load:
                    best, best_load = ep, load
        return best

    async def acquire(self, avoid: Endpoint | None) -> Endpoint:
        loop = self._loop
        while True:
            ep, wait_s = self.pick(avoid, time.monotonic())
            if ep is not None:
                ep.in_flight += 1
                return ep
            fut = loop.create_future()
            self._waiters.append(fut)
            try:
                if wait_s is None:
                    await fut
                else:
                    await asyncio.wait_for(fut, max(0.001, wait_s))
            except asyncio.TimeoutError:
                pass
            except asyncio.CancelledError:
                if fut.done() and not fut.cancelled():
                    self.wake(1)  # pass the wake-up on
                raise

    def wake(self, n: int | None) -> None:
        """Wake ``n`` waiters (all when None)."""
        waiters = self._waiters
        while waiters and (n is None or n > 0):
            fut = waiters.popleft()
            if not fut.done():
                fut.set_result(None)
                if n is not None:
                    n -= 1

    def release(self, ep: Endpoint, wake_all: bool = False) -> None:
        ep.in_flight -= 1
        if self._waiters:
            self.wake(None if wake_all else 1)

    def has_alternative(self, ep: Endpoint) -> bool:
        now = time.monotonic()
        return any(o is not ep and o.usable(now) and o.has_room() for o in self.endpoints)
