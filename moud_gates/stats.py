"""Filter statistics, kept in one place for inline use and `moud filter`: per language, the rows seen, kept,
dropped per gate, the texts counted but not judged (``skipped_short``) and the texts language ID could not
judge (``undetermined``: the model had nothing to go on)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class FilterCounts:
    """One language's counts (one entry of filter_stats.json ``languages``)."""

    input: int = 0
    kept: int = 0
    dropped: Counter = field(default_factory=Counter)
    skipped_short: int = 0
    undetermined: int = 0

    def to_dict(self) -> dict:
        return {
            "input": self.input,
            "kept": self.kept,
            "dropped": dict(sorted(self.dropped.items())),
            "skipped_short": self.skipped_short,
            "undetermined": self.undetermined,
        }


class FilterStats:
    """Counts per language: ``record`` one row's outcome, ``add_counters`` the gates' per-text counters."""

    def __init__(self):
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
        counts = self.of(code)
        counts.skipped_short += counters.get("skipped_short", 0)
        counts.undetermined += counters.get("undetermined", 0)

    def to_dict(self) -> dict:
        return {code: counts.to_dict() for code, counts in sorted(self.languages.items())}
