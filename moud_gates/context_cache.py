"""A small bounded cache for inline checks: values derived from a dialogue's fixed context (its earlier turns,
its persona sentences) under the settings that produced them. Consecutive checks of one dialogue share that
context (turn i+1 is judged against turns 0..i, which turn i was judged against too), so each earlier turn is
tokenized and judged once instead of once per later turn. Values depend only on their key: the cache changes
no decision."""

from __future__ import annotations

from collections.abc import Callable, Hashable

from moud_gates.base import GateContext

SIZE = 4096  # entries: about one or two per dialogue in flight


class ContextCache:
    """key -> value for one gate. Keys are (settings object, language, context tuple); the settings object
    is compared by identity and kept alive by the entry, so a key never matches another settings dict."""

    def __init__(self, size: int = SIZE):
        self.size = size
        self._data: dict[tuple, tuple[dict, object]] = {}

    def get(self, ctx: GateContext, context: tuple[Hashable, ...], make: Callable[[], object]) -> object:
        """The cached value for ``context`` under ``ctx``'s language and settings, else ``make()``
        (stored)."""
        key = (id(ctx.params), ctx.lang.code, context)
        got = self._data.get(key)
        if got is not None and got[0] is ctx.params:
            return got[1]
        value = make()
        self.put(ctx, context, value)
        return value

    def put(self, ctx: GateContext, context: tuple[Hashable, ...], value: object) -> None:
        if len(self._data) >= self.size:
            self._data.clear()
        self._data[(id(ctx.params), ctx.lang.code, context)] = (ctx.params, value)

    def take(self, ctx: GateContext, context: tuple[Hashable, ...]) -> object | None:
        """Remove and return the cached value for ``context`` (None when absent): for a value that a longer
        context supersedes (a dialogue moves on by one turn and never comes back)."""
        got = self._data.pop((id(ctx.params), ctx.lang.code, context), None)
        return got[1] if got is not None and got[0] is ctx.params else None
