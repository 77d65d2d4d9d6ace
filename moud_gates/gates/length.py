"""Length gate: characters per turn and turns per dialogue."""

from __future__ import annotations

from dataclasses import dataclass, field

from moud_core.typed_config import at_least
from moud_gates.base import Drop, Gate, GateContext, TextItem, clip, register


@register
class LengthGate(Gate):
    name = "length"
    persona = False
    history = False

    @dataclass(frozen=True)
    class Params:
        """``length`` settings (data/filters.yaml)."""

        min_chars: int = field(metadata=at_least(0))
        max_chars: int = field(metadata=at_least(1))
        min_turns: int = field(metadata=at_least(0))
        max_turns: int = field(metadata=at_least(1))

        def check(self, need) -> None:
            need(self.max_chars >= self.min_chars, "max_chars", "an integer >= min_chars")
            need(self.max_turns >= self.min_turns, "max_turns", "an integer >= min_turns")

    def check(self, row: dict, ctx: GateContext) -> Drop | None:
        p = ctx.params
        n = len(row["turns"])
        if n < p["min_turns"] or n > p["max_turns"]:
            return Drop(self.name, f"{n} turns, expected {p['min_turns']}..{p['max_turns']}", {"turns": n})
        low, high = p["min_chars"], p["max_chars"]
        if all(low <= len(turn["text"].strip()) <= high for turn in row["turns"]):
            return None  # the common case, without a check_text call per turn
        return super().check(row, ctx)

    def check_text(self, item: TextItem, ctx: GateContext) -> Drop | None:
        p, (where, text, *_) = ctx.params, item
        chars = len(text.strip())
        if chars < p["min_chars"]:
            return Drop(
                self.name,
                f"{where}: {chars} characters, expected at least {p['min_chars']}",
                {"field": where, "chars": chars},
            )
        if chars > p["max_chars"]:
            return Drop(
                self.name,
                f"{where}: {chars} characters, expected at most {p['max_chars']} ({clip(text, 40)!r})",
                {"field": where, "chars": chars},
            )
        return None
