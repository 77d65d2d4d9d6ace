"""Common-ground gate: the common ground says how and where A and B meet; it must not mostly restate their
persona sentences (a share of its n-grams found in them) nor copy the prompt's labels ("Person A", "I am
person B", "personne A": a speaker word of data/leakage_languages.yaml followed by the designator)."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import regex

from moud_core.typed_config import at_least, between
from moud_gates.base import Drop, Gate, GateContext, TextItem, clip, register
from moud_gates.gates.labels import leakage_languages
from moud_gates.gates.repetition import _ngrams


@functools.cache
def prompt_label(code: str) -> regex.Pattern:
    """A speaker word ("person", "personne", "人物") then the designator A or B: the prompt's way of naming
    the two people."""
    data = leakage_languages()
    words = {w for c in ("en", code) for w in data.get(c, {}).get("labels", []) if len(w) > 1}
    alternatives = "|".join(regex.escape(w) for w in sorted(words, key=len, reverse=True))
    return regex.compile(
        rf"(?<![\p{{L}}\p{{M}}])(?:{alternatives})[ \t]*(?-i:[AB])(?![\p{{L}}\p{{M}}])", regex.I
    )


@register
class CommonGroundGate(Gate):
    name = "common_ground"

    @dataclass(frozen=True)
    class Params:
        """``common_ground`` settings (data/filters.yaml)."""

        ngram_n: int = field(metadata=at_least(1))
        max_persona_share: float = field(metadata=between(0, 1))
        min_ngrams: int = field(metadata=at_least(0))
        max_failed: int = field(metadata=at_least(0))

    def warm(self, ctx: GateContext) -> None:
        prompt_label(ctx.lang.code)

    def applies(self, where: str, ctx: GateContext) -> bool:
        return where == "common_ground"

    def texts(self, row: dict, ctx: GateContext) -> list[tuple[str, str]]:
        return [("common_ground", row["common_ground"])] if row["common_ground"].strip() else []

    def check_text(self, item: TextItem, ctx: GateContext) -> Drop | None:
        p, text = ctx.params, item.text
        m = prompt_label(ctx.lang.code).search(text)
        if m is not None:
            return Drop(
                self.name,
                f"common_ground: copies the prompt's label {m.group(0)!r} ({clip(text, 40)!r})",
                {"field": "common_ground", "kind": "prompt_label", "match": m.group(0)},
            )
        if not item.personas:
            return None
        n = p["ngram_n"]
        grams = _ngrams(ctx.tokens(text), n)
        if len(grams) < p["min_ngrams"]:
            return None
        pool = {g for s in item.personas for g in _ngrams(ctx.tokens(s), n)}
        share = sum(g in pool for g in grams) / len(grams)
        if share <= p["max_persona_share"]:
            return None
        return Drop(
            self.name,
            f"common_ground: {share:.0%} of it restates the persona sentences ({clip(text, 40)!r})",
            {"field": "common_ground", "kind": "persona_restated", "share": round(share, 3)},
        )
