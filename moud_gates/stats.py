"""Filter statistics, kept in one place for inline use and `moud filter`: per language, the rows seen, kept,
dropped per gate, and whatever the gates counted besides (``Gate.counts``, e.g. language ID's texts too
short to judge and texts it could not determine)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

ROW_KEYS = ("input", "kept", "dropped")  # of a language's entry; its other keys are the gates' counters


@dataclass
class FilterCounts:
    """One language's counts (one entry of filter_stats.json ``languages``)."""

    input: int = 0
    kept: int = 0
    dropped: Counter = field(default_factory=Counter)
    counted: Counter = field(default_factory=Counter)  # the gates' own counters (``GateContext.count``)

    def to_dict(self, names: Sequence[str] = ()) -> dict:
        """``names``: counters written even when nothing was counted (0), first and in this order; any other
        counter follows, by name."""
        counted = {name: self.counted.get(name, 0) for name in names}
        counted.update(sorted((k, v) for k, v in self.counted.items() if k not in counted))
        return {
            "input": self.input,
            "kept": self.kept,
            "dropped": dict(sorted(self.dropped.items())),
            **counted,
        }


class FilterStats:
    """Counts per language: ``record`` one row's outcome, ``add_counters`` the gates' counters. ``names``: the
    counters every language's entry has (``base.gate_counts()``: the registered gates')."""

    def __init__(self, names: Sequence[str] = ()):
        self.names = tuple(names)
        self.languages: dict[str, FilterCounts] = {}

    def of(self, code: str) -> FilterCounts:
        counts = self.languages.get(code)
        if counts is None:
            counts = self.languages[code] = FilterCounts()
        return counts

    def record(self, code: str, gate: str | None, counters: Counter | None = None) -> None:
        """One row of language ``code``: kept (``gate`` None) or dropped by ``gate``."""
        counts = self.of(code)
        counts.input += 1
        if gate is None:
            counts.kept += 1
        else:
            counts.dropped[gate] += 1
        if counters:
            self.add_counters(code, counters)

    def add_counters(self, code: str, counters: Counter) -> None:
        self.of(code).counted.update(counters)

    def to_dict(self) -> dict:
        return {code: counts.to_dict(self.names) for code, counts in sorted(self.languages.items())}
