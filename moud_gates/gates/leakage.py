"""Leakage gate: speaker labels and assistant boilerplate (per language, ``labels.py``), stage directions,
markdown, English prompt phrases, persona sentences copied into a turn."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from moud_core.text import normalize
from moud_core.typed_config import at_least
from moud_gates.base import Drop, Gate, GateContext, TextItem, clip, register, row_personas, row_texts
from moud_gates.context_cache import ContextCache
from moud_gates.gates.labels import has_colon, language_leakage
from moud_gates.gates.leakage_patterns import (
    leakage_rules,
    needs_found,
    pattern_needs,
    phrase_literals,
    present_needs,
)
from moud_gates.gates.meta_remarks import meta_rule
from moud_gates.gates.preamble import opening_possible, opening_remark, opening_rule


class LeakagePlan(NamedTuple):
    """What to look for in a set of turns (found by pre-checks on all of them together): the combined
    pattern and the ``needs`` present (or None: scan every turn), whether to look for prompt phrases, and
    the persona sentences (with their token keys) that occur in the turns."""

    scan: bool
    needs: tuple | None
    phrases: bool
    persona: list[tuple[str, str]]
    labels: bool  # a colon occurs: look for speaker labels
    boilerplate: bool  # a boilerplate phrase or a meta word occurs: look for boilerplate


@register
class LeakageGate(Gate):
    """Turns: every rule. Persona sentences and the common ground: assistant boilerplate only (a narrator's
    or a persona's text may hold a colon or a name, but never "Here is the common ground:")."""

    name = "leakage"

    def __init__(self):
        self._persona_keys = ContextCache()  # inline checks: a dialogue's persona keys, once per dialogue

    @dataclass(frozen=True)
    class Params:
        """``leakage`` settings (data/filters.yaml)."""

        persona_copy_min_tokens: int = field(metadata=at_least(1))
        check_english_prompt_phrases: bool
        short_opening_boilerplate: bool

    def warm(self, ctx: GateContext) -> None:
        """Load and compile the leakage patterns and the labels/boilerplate of ``ctx.lang`` now."""
        leakage_rules()
        pattern_needs()
        phrase_literals()
        language_leakage(ctx.lang.code)
        opening_rule(ctx.lang.code, ctx.lang.segmentation)
        meta_rule(ctx.lang.code, ctx.lang.segmentation)

    @staticmethod
    def persona_keys(personas: Sequence[str], ctx: GateContext) -> list[tuple[str, str]]:
        """(sentence, token key) of the persona sentences long enough to count as copied into a turn."""
        out = []
        min_tokens = ctx.params["persona_copy_min_tokens"]
        for s in personas:
            if len(normalize(s)) < min_tokens:  # at most one token per (normalized) character
                continue
            tokens = ctx.tokens(s)
            if len(tokens) >= min_tokens:
                out.append((s, " ".join(tokens)))
        return out

    def plan(self, texts: list[str], persona: list[tuple[str, str]], ctx: GateContext) -> LeakagePlan | None:
        """Pre-checks on the joined ``texts``: a turn can only fail a check whose pre-check hits them all.
        ``persona``: ``persona_keys`` of the dialogue. None when no check can fail."""
        p = ctx.params
        combined, phrase_re = leakage_rules()
        literals = phrase_literals()
        needs = pattern_needs()
        check_phrases = (
            phrase_re is not None and p["check_english_prompt_phrases"] and ctx.lang.lid_label != "en"
        )
        joined = "\n".join(texts)
        rules = language_leakage(ctx.lang.code)
        labels = has_colon(joined) is not None
        # a boilerplate phrase or a meta word, or a colon (an opening clause may name the conversation)
        boilerplate = labels or rules.any_phrase(set().union(*(ctx.tokens(text) for text in texts)))
        if needs is not None:
            needs = present_needs(joined, needs)  # each turn is checked for these only
        scan = combined is not None and (pattern_needs() is None or needs is not None)
        if check_phrases and literals is not None:
            folded = normalize(joined)
            check_phrases = any(x in folded for x in literals)
        if persona:
            turn_keys = "\n".join(" " + " ".join(ctx.tokens(t)) + " " for t in texts)
            if not any(f" {key} " in turn_keys for _, key in persona):
                persona = []
        if not (scan or check_phrases or persona or labels or boilerplate):
            return None
        return LeakagePlan(scan, needs, check_phrases, persona, labels, boilerplate)

    def _drop(self, where: str, kind: str, match: str, text: str) -> Drop:
        return Drop(
            self.name,
            f"{where}: {kind.replace('_', ' ')} {match!r} ({clip(text, 40)!r})",
            {"field": where, "kind": kind, "match": match},
        )

    def judge(self, where: str, text: str, plan: LeakagePlan, ctx: GateContext) -> Drop | None:
        """The first leakage found in ``text``: a speaker label, assistant boilerplate, a leakage pattern
        (stage direction, markdown), an English prompt phrase, a copied persona sentence."""
        combined, phrase_re = leakage_rules()
        rules = language_leakage(ctx.lang.code)
        if plan.labels and (label := rules.label(text)) is not None:
            return self._drop(where, "role_label", label, text)
        if plan.boilerplate:
            found = rules.boilerplate_phrase(ctx.tokens(text)) or rules.preamble_clause(
                text, ctx.params["short_opening_boilerplate"]
            )
            if found is not None:
                return self._drop(where, "assistant_boilerplate", found, text)
        m = None
        if plan.scan and (plan.needs is None or needs_found(text, plan.needs)):
            m = combined.search(text)
        if m:
            return self._drop(where, m.lastgroup, m.group(0).strip(), text)
        if plan.phrases:
            literals = phrase_literals()
            norm = normalize(text)
            m = phrase_re.search(norm) if literals is None or any(x in norm for x in literals) else None
            if m:
                return Drop(
                    self.name,
                    f"{where}: English prompt phrase {m.group(0)!r} ({clip(text, 40)!r})",
                    {"field": where, "kind": "prompt_phrase", "match": m.group(0)},
                )
        if plan.persona:
            keyed = " " + " ".join(ctx.tokens(text)) + " "
            for sentence, key in plan.persona:
                if f" {key} " in keyed:
                    return Drop(
                        self.name,
                        f"{where}: persona sentence copied verbatim ({clip(sentence, 40)!r})",
                        {"field": where, "kind": "persona_copy", "match": sentence},
                    )
        return None

    def check_text(self, item: TextItem, ctx: GateContext) -> Drop | None:
        if not item.where.startswith("turns["):
            return self.judge_boilerplate(item.where, item.text, ctx)
        personas = tuple(item.personas)
        keys = self._persona_keys.get(ctx, personas, lambda: self.persona_keys(personas, ctx))
        plan = self.plan([item.text], keys, ctx)
        drop = None if plan is None else self.judge(item.where, item.text, plan, ctx)
        return drop or self.preamble(item.where, item.text, ctx, bare=False)

    def preamble(self, where: str, text: str, ctx: GateContext, bare: bool) -> Drop | None:
        """An assistant preamble or a meta-remark (``preamble.opening_remark``)."""
        found = opening_remark(text, ctx.tokens(text), ctx.lang.code, ctx.lang.segmentation, bare)
        return None if found is None else self._drop(where, found[0], found[1], text)

    def judge_boilerplate(self, where: str, text: str, ctx: GateContext) -> Drop | None:
        """Assistant boilerplate or a preamble in a persona sentence or the common ground."""
        rules = language_leakage(ctx.lang.code)
        tokens = ctx.tokens(text)
        if not (has_colon(text) or rules.any_phrase(set(tokens))):
            return self.preamble(where, text, ctx, bare=True)
        found = rules.boilerplate_phrase(tokens) or rules.preamble_clause(
            text, ctx.params["short_opening_boilerplate"]
        )
        if found is None:
            return self.preamble(where, text, ctx, bare=True)
        return self._drop(where, "assistant_boilerplate", found, text)

    def check(self, row: dict, ctx: GateContext) -> Drop | None:
        texts = [turn["text"] for turn in row["turns"]]
        plan = self.plan(texts, self.persona_keys(row_personas(row, ctx.memo), ctx), ctx)
        tokens = set().union(*(ctx.tokens(text) for text in texts))
        openings = opening_possible(tokens, ctx.lang.code, ctx.lang.segmentation)
        for i, text in enumerate(texts):
            where = f"turns[{i}]"
            drop = None if plan is None else self.judge(where, text, plan, ctx)
            drop = drop or (self.preamble(where, text, ctx, bare=False) if openings else None)
            if drop is not None:
                return drop
        return self._check_other_fields(row, ctx)

    def _check_other_fields(self, row: dict, ctx: GateContext) -> Drop | None:
        for where, text in row_texts(row, memo=ctx.memo):
            if where.startswith("turns["):
                continue
            drop = self.judge_boilerplate(where, text, ctx)
            if drop is not None:
                return drop
        return None
