"""Inline checks of every dialogue in flight, prefilled together.

Outputs that arrive in the same turn of the event loop (with a fast server, dozens of dialogues at once) are
prefilled in one batch: the gates' per-text work that runs many texts at once (language-ID predictions,
script counts: ``TextGates.prefill``) is computed for all of them, then each output is checked on its own.
Batch results do not depend on which texts share the batch, so every decision is the one a check on its own
would make; only the cost changes. With a slow server each batch holds one output.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence


class PrefillBatch:
    """``await prefilled(texts)`` -> the memo ``prefill`` made for these texts and those of every other caller
    of the same event-loop turn (``prefill(texts) -> dict``: one language's ``TextGates.prefill``)."""

    def __init__(self, prefill: Callable[[list[str]], dict]):
        self._prefill = prefill
        self._waiting: list[tuple[Sequence[str], asyncio.Future]] = []

    async def prefilled(self, texts: Sequence[str]) -> dict:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        if not self._waiting:
            loop.call_soon(self._flush)  # after the callbacks already ready in this turn: theirs join in
        self._waiting.append((texts, future))
        return await future

    def _flush(self) -> None:
        waiting, self._waiting = self._waiting, []
        live = [(texts, f) for texts, f in waiting if not f.done()]  # a cancelled dialogue waits no more
        if not live:
            return
        try:
            memo = self._prefill(list(dict.fromkeys(t for texts, _ in live for t in texts)))
        except Exception as exc:  # every waiter sees the error (a bad config, a broken LID model)
            for _, f in live:
                f.set_exception(exc)
            return
        for _, f in live:
            f.set_result(memo)
