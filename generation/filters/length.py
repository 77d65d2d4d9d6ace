"""Length gate: characters per turn and turns per dialogue."""

from __future__ import annotations

from generation.filters.base import Drop, Gate, GateContext, clip


class LengthGate(Gate):
    name = "length"

    def check(self, row: dict, ctx: GateContext) -> Drop | None:
        p = ctx.params
        n = len(row["turns"])
        if n < p["min_turns"] or n > p["max_turns"]:
            return Drop(self.name, f"{n} turns, expected {p['min_turns']}..{p['max_turns']}",
                        {"turns": n})
        for i, turn in enumerate(row["turns"]):
            chars = len(turn["text"].strip())
            if chars < p["min_chars"]:
                return Drop(self.name, f"turns[{i}]: {chars} characters, expected at least {p['min_chars']}",
                            {"field": f"turns[{i}]", "chars": chars})
            if chars > p["max_chars"]:
                return Drop(self.name, f"turns[{i}]: {chars} characters, expected at most {p['max_chars']} "
                            f"({clip(turn['text'], 40)!r})", {"field": f"turns[{i}]", "chars": chars})
        return None
