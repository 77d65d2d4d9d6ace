"""Persona-form gate: a persona sentence must be a sentence about the person, not a bare label ("Nom :
Camille", "Age: 34"), a number or a timestamp ("34", "14:30"), or a word or two ("Camille.")."""

from __future__ import annotations

from dataclasses import dataclass, field

import regex

from moud_core.typed_config import at_least, between
from moud_gates.base import Drop, Gate, GateContext, TextItem, clip, register

# "Key: value" with a short key (at most two words) and a short value: a form field, not a sentence
_LABEL = regex.compile(r"^\W*(?P<key>\p{L}[\p{L}\p{M}]*(?:[ \t]\p{L}[\p{L}\p{M}]*)?)\W*[:：]\s*\S")


@register
class PersonaFormGate(Gate):
    name = "persona_form"
    history = False

    @dataclass(frozen=True)
    class Params:
        """``persona_form`` settings (data/filters.yaml)."""

        min_tokens: int = field(metadata=at_least(1))
        max_digit_share: float = field(metadata=between(0, 1))
        label_max_tokens: int = field(metadata=at_least(0))
        max_failed: int = field(metadata=at_least(0))

    def applies(self, where: str, ctx: GateContext) -> bool:
        return where.startswith("persona_")

    def texts(self, row: dict, ctx: GateContext) -> list[tuple[str, str]]:
        return [(w, t) for w, t in super().texts(row, ctx) if w.startswith("persona_")]

    def check_text(self, item: TextItem, ctx: GateContext) -> Drop | None:
        p, (where, text, *_) = ctx.params, item
        tokens = ctx.tokens(text)
        letters = [t for t in tokens if any(c.isalpha() for c in t)]
        digits = sum(c.isdigit() for c in text)
        alnum = digits + sum(c.isalpha() for c in text)
        kind = None
        if alnum and digits / alnum > p["max_digit_share"]:
            kind = "number"
        elif len(letters) < p["min_tokens"]:
            kind = "too_short"
        elif len(tokens) <= p["label_max_tokens"] and _LABEL.match(text):
            kind = "label"
        if kind is None:
            return None
        what = {"number": "a number or a time", "too_short": "a word or two", "label": "a bare label"}[kind]
        return Drop(
            self.name,
            f"{where}: {what}, not a persona sentence ({clip(text, 40)!r})",
            {"field": where, "kind": kind},
        )
