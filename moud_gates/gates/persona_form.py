"""Persona-form gate: a persona sentence must be a sentence about the person, not a label ("Nom : Camille",
"Age: 34"; or of any length when a capital opens the value, as a new field's does: "La vue : Leur dernier
joueur et les enfants"), a number or a timestamp ("34", "14:30"), or a word or two ("Camille.")."""

from __future__ import annotations

from dataclasses import dataclass, field

import regex

from moud_core.typed_config import at_least, between
from moud_gates.base import Drop, Gate, GateContext, TextItem, clip, register

# "Key: value": the text before the first colon (with a letter and no sentence end in it), then the value's
# first character after spaces and opening quotes; a colon between digits ("14:30") is a time, not a key's
_LABEL = regex.compile(
    r"(?P<key>[^:：.!?。！？\n]*\p{L}[^:：.!?。！？\n]*?)(?<!\d)\s*[:：](?!\d)\s*[\"'«“„‘「『(]*(?P<value>\S)"
)


def _word_count(tokens: list[str], enough: int) -> int:
    """How many ``tokens`` hold a letter, counted up to ``enough``."""
    n = 0
    for token in tokens:
        if any(map(str.isalpha, token)):
            n += 1
            if n >= enough:
                break
    return n


def label_parts(text: str) -> tuple[str, str] | None:
    """(key, the value's first character) of a "Key: value" text, else None."""
    if ":" not in text and "：" not in text:
        return None
    m = _LABEL.match(text)
    return (m.group("key"), m.group("value")) if m else None


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
        label_key_max_tokens: int = field(metadata=at_least(0))
        max_failed: int = field(metadata=at_least(0))

    def applies(self, where: str, ctx: GateContext) -> bool:
        return where.startswith("persona_")

    def texts(self, row: dict, ctx: GateContext) -> list[tuple[str, str]]:
        return [(w, t) for w, t in super().texts(row, ctx) if w.startswith("persona_")]

    def check_text(self, item: TextItem, ctx: GateContext) -> Drop | None:
        p, (where, text, *_) = ctx.params, item
        tokens = ctx.tokens(text)
        digits = sum(map(str.isdigit, text)) if any(map(str.isdigit, text)) else 0
        alnum = digits + sum(map(str.isalpha, text))
        kind = None
        if alnum and digits / alnum > p["max_digit_share"]:
            kind = "number"
        elif _word_count(tokens, p["min_tokens"]) < p["min_tokens"]:
            kind = "too_short"
        elif (label := label_parts(text)) and len(ctx.tokens(label[0])) <= p["label_key_max_tokens"]:
            if len(tokens) <= p["label_max_tokens"] or label[1].isupper():
                kind = "label"
        if kind is None:
            return None
        what = {
            "number": "a number or a time",
            "too_short": "a word or two",
            "label": "a label (a short key and a colon)",
        }[kind]
        return Drop(
            self.name,
            f"{where}: {what}, not a persona sentence ({clip(text, 40)!r})",
            {"field": where, "kind": kind},
        )
