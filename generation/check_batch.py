"""Inline checks of every dialogue in flight, made together.

Outputs that arrive in the same turn of the event loop (with a fast server, dozens of dialogues at once) are
checked as one batch (``first_drops``): the gates' per-text work that runs many texts at once (language-ID
predictions, script counts: ``TextGates.prefill``) is done once for all of them, then each output's texts
are checked on their own, in order. Batch results do not depend on which texts share the batch, so every
decision is the one a check on its own would make; only the cost changes. With a slow server each batch
holds one output. The batch runs here or in a worker process (``gate_process.py``).
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Sequence

from moud_core.drop import Drop


def first_drops(gates, language: str, outputs: Sequence[Sequence]) -> list[Drop | None]:
    """For each output (its ``TextItem``s, in order) the first failing text's Drop, or None when every text
    passes. ``gates``: a ``TextGates``."""
    memo = gates.prefill(language, [item.text for items in outputs for item in items])
    return [
        next(filter(None, (gates.check_item(language, item, memo) for item in items)), None)
        for items in outputs
    ]


class LoopTurnBatch:
    """``await submit(payload)`` -> this payload's result from ``run(payloads)``, which is called with the
    payloads of every caller of one event-loop turn, in arrival order, and returns their results in the same
    order: a list, or an awaitable of one (work done elsewhere, e.g. in a worker process). While such a batch
    is out, new payloads wait and go together in the next one, so a busy worker gets bigger batches."""

    def __init__(self, run: Callable[[list], object]):
        self._run = run
        self._waiting: list[tuple[object, asyncio.Future]] = []
        self._scheduled = self._out = False

    async def submit(self, payload):
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._waiting.append((payload, future))
        if not self._scheduled and not self._out:
            self._scheduled = True
            loop.call_soon(self._flush)  # after the callbacks already ready in this turn: theirs join in
        return await future

    def _flush(self) -> None:
        self._scheduled = False
        waiting, self._waiting = self._waiting, []
        live = [(p, f) for p, f in waiting if not f.done()]  # a cancelled dialogue waits no more
        if not live:
            return
        try:
            got = self._run([p for p, _ in live])
        except Exception as exc:  # every waiter sees the error (a bad config, a broken LID model)
            _fail(live, exc)
            return
        if inspect.isawaitable(got):
            self._out = True
            asyncio.ensure_future(got).add_done_callback(lambda done: self._returned(live, done))
        else:
            _settle(live, got)

    def _returned(self, live: list, done: asyncio.Future) -> None:
        self._out = False
        _deliver(live, done)
        if self._waiting and not self._scheduled:
            self._flush()


def _deliver(live: list, done: asyncio.Future) -> None:
    if done.cancelled():
        for _, f in live:
            f.cancel()
    elif done.exception() is not None:
        _fail(live, done.exception())
    else:
        _settle(live, done.result())


def _settle(live: list, results: list) -> None:
    for (_, f), result in zip(live, results, strict=True):
        if not f.done():
            f.set_result(result)


def _fail(live: list, exc: BaseException) -> None:
    for _, f in live:
        if not f.done():
            f.set_exception(exc)
