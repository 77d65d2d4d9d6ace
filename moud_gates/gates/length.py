"""Length gate: characters per turn and turns per dialogue."""

from __future__ import annotations

from moud_gates.base import Drop, Gate, GateContext, TextItem, clip, register


@register
class LengthGate(Gate):
    name = "length"
    persona = False
    history = False

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
