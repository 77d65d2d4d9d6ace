"""Persona cap (optional, off by default): a corpus-level limit on how often one persona sentence or one first
name may be used in a language. Rows are admitted in id order (as dedup admits them); a row whose persona
sentence, or whose persona's first name, kept rows already used ``max_sentence_uses`` / ``max_name_uses``
times is dropped. 0 = no cap. Sentences are compared normalized and names extracted as in
``moud_core.persona_collapse`` (the measures ``moud stats`` reports).

Enable it in a filter config: add ``persona_cap`` to ``gates`` after ``dedup`` and set a limit under
``defaults.persona_cap`` (or per script or language). It runs in ``moud filter`` only, not while generating.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from moud_core.persona_collapse import persona_entities
from moud_core.persona_groups import normalize_sentence
from moud_core.typed_config import at_least
from moud_gates.base import Drop, Gate, GateContext, clip, register


def _uses(row: dict, code: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(persona sentence keys with a form, first-name keys with a form): one entry per persona using it."""
    sentences, names = [], []
    for key in ("persona_a", "persona_b"):
        persona = row[key]
        seen = set()
        for s in persona:
            norm = normalize_sentence(s)
            if norm and norm not in seen:
                seen.add(norm)
                sentences.append((norm, s))
        name = persona_entities(persona, code).get("name")
        if name:
            names.append((name.casefold(), name))
    return sentences, names


@register
class PersonaCapGate(Gate):
    name = "persona_cap"
    stateful = True

    @dataclass(frozen=True)
    class Params:
        """``persona_cap`` settings (data/filters.yaml)."""

        max_sentence_uses: int = field(metadata=at_least(0))  # 0: no cap
        max_name_uses: int = field(metadata=at_least(0))  # 0: no cap

    def __init__(self):
        self.counts: dict[str, tuple[Counter, Counter]] = {}  # language -> (sentence uses, name uses)

    def signature(self, row: dict, ctx: GateContext):
        """What the row would use (pure, so workers compute it); None when no cap is set."""
        p = ctx.params
        if not int(p.get("max_sentence_uses", 0)) and not int(p.get("max_name_uses", 0)):
            return None
        return _uses(row, ctx.lang.code)

    def release(self, code: str) -> None:
        self.counts.pop(code, None)

    def admit_id(self, row_id: str, signature, ctx: GateContext) -> Drop | None:
        if signature is None:
            return None
        p = ctx.params
        sentence_counts, name_counts = self.counts.setdefault(ctx.lang.code, (Counter(), Counter()))
        for uses, counts, limit, what in (
            (signature[0], sentence_counts, int(p.get("max_sentence_uses", 0)), "persona sentence"),
            (signature[1], name_counts, int(p.get("max_name_uses", 0)), "first name"),
        ):
            if not limit:
                continue
            in_row = Counter(key for key, _ in uses)
            for key, form in uses:
                if counts[key] + in_row[key] > limit:
                    setting = "max_sentence_uses" if what == "persona sentence" else "max_name_uses"
                    return Drop(
                        self.name,
                        f"{what} {clip(form)!r} would be used {counts[key] + in_row[key]} times in "
                        f"{ctx.lang.code}'s kept rows, more than persona_cap.{setting} ({limit})",
                        {"kind": what, "text": form, "uses": counts[key], "limit": limit},
                    )
        for uses, counts in ((signature[0], sentence_counts), (signature[1], name_counts)):
            counts.update(key for key, _ in uses)
        return None
