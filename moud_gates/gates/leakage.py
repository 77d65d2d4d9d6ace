"""Leakage gate: speaker labels and assistant boilerplate (per language, ``labels.py``), stage directions,
markdown, English prompt phrases, persona sentences copied into a turn."""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import regex

from moud_core.errors import ConfigError
from moud_core.text import normalize
from moud_core.typed_config import at_least
from moud_core.yamlio import load_yaml
from moud_gates.base import Drop, Gate, GateContext, TextItem, clip, register, row_personas, row_texts
from moud_gates.context_cache import ContextCache
from moud_gates.data_dir import DATA_DIR
from moud_gates.gates.labels import has_colon, language_leakage
from moud_gates.gates.meta_remarks import meta_rule
from moud_gates.gates.preamble import opening_possible, opening_remark, opening_rule

LEAKAGE_PATH = DATA_DIR / "leakage.yaml"


@functools.lru_cache(maxsize=1)
def leakage_rules() -> tuple[regex.Pattern | None, regex.Pattern | None]:
    data = load_yaml(LEAKAGE_PATH)
    rules = []
    for i, entry in enumerate(data.get("patterns") or []):
        try:
            rules.append((entry["name"], regex.compile(entry["pattern"], regex.IGNORECASE | regex.MULTILINE)))
        except (KeyError, TypeError):
            raise ConfigError(
                f"{LEAKAGE_PATH}: patterns[{i}]: expected a mapping with 'name' and 'pattern'"
            ) from None
        except regex.error as exc:
            raise ConfigError(f"{LEAKAGE_PATH}: patterns[{i}].pattern: invalid regex ({exc})") from None
    # one combined pattern (named groups) so each turn is scanned once
    combined = (
        regex.compile(
            "|".join(f"(?P<{name}>{pat.pattern})" for name, pat in rules), regex.IGNORECASE | regex.MULTILINE
        )
        if rules
        else None
    )
    phrases = [p for p in data.get("english_prompt_phrases") or [] if p]
    phrase_re = None
    if phrases:
        phrase_re = regex.compile(
            r"\b(?:" + "|".join(regex.escape(p) for p in phrases) + r")\b", regex.IGNORECASE
        )
    return combined, phrase_re


# Characters that `regex` (simple case folding) matches case-insensitively with an ASCII letter besides its
# two cases: İ (i), ı (i), ſ (s), Kelvin sign (k). ``fold`` maps them to the letter, then lowercases.
_FOLD = str.maketrans({"\u0130": "i", "\u0131": "i", "\u017f": "s", "\u212a": "k"})


def fold(text: str) -> str:
    # str.replace per character: far faster than str.translate with a mapping
    return (
        text.replace("\u0130", "i")
        .replace("\u0131", "i")
        .replace("\u017f", "s")
        .replace("\u212a", "k")
        .lower()
    )


@functools.lru_cache(maxsize=1)
def pattern_needs() -> tuple[re.Pattern | None, tuple[str, ...]] | None:
    """The patterns' ``needs``: (a ``re`` class of the one-character needs, the longer needs lowercased), or
    None when some pattern has no ``needs`` (then every turn is scanned). See ``needs_found``."""
    chars, words = [], []
    for i, entry in enumerate(load_yaml(LEAKAGE_PATH).get("patterns") or []):
        got = entry.get("needs") if isinstance(entry, dict) else None
        if not got:
            return None
        if not isinstance(got, list) or not all(isinstance(x, str) and x for x in got):
            raise ConfigError(f"{LEAKAGE_PATH}: patterns[{i}].needs: expected a list of non-empty strings")
        for x in got:
            (chars if len(x) == 1 and x.upper() == x.lower() else words).append(
                fold(x)
            )  # caseless symbol or not
    char_re = re.compile("[" + "".join(re.escape(c) for c in dict.fromkeys(chars)) + "]") if chars else None
    return char_re, tuple(dict.fromkeys(words))


def needs_found(text: str, needs: tuple[re.Pattern | None, tuple[str, ...]]) -> bool:
    """Whether ``text`` contains one of the ``needs`` case-insensitively.

    Sound for the combined pattern: every case variant that `regex` matches for a needed character is
    mapped to the character itself by ``fold`` (one-character needs are caseless symbols; both facts are
    checked for every codepoint in tests/moud_gates/test_fastpaths.py), so a turn in which the
    combined pattern matches always passes this check."""
    char_re, words = needs
    if char_re is not None and char_re.search(text):
        return True
    if not words:
        return False
    folded = fold(text)
    return any(w in folded for w in words)


def present_needs(text: str, needs: tuple[re.Pattern | None, tuple[str, ...]]):
    """The part of ``needs`` that ``text`` contains (same form), or None when it contains none. A piece of
    ``text`` (a turn of a dialogue) can only contain needs from this part."""
    char_re, words = needs
    chars = char_re if char_re is not None and char_re.search(text) else None
    folded = fold(text)
    found = tuple(w for w in words if w in folded)
    return (chars, found) if chars is not None or found else None


_PLAIN_PHRASE = regex.compile(r"[a-z0-9 '-]+")


@functools.lru_cache(maxsize=1)
def phrase_literals() -> tuple[str, ...] | None:
    """The English prompt phrases as plain substrings, a cheap pre-check before the phrase regex, or None.

    Sound because the regex runs on ``normalize()``d (case-folded) text, in which a case-insensitive match
    of a lowercase ASCII phrase can only be the phrase itself (the other case variants of ASCII letters,
    such as "K" or U+212A KELVIN SIGN, are case-folded away; tests/moud_gates/test_fastpaths.py
    checks it). Only used when every phrase is plain lowercase ASCII."""
    phrases = [p for p in load_yaml(LEAKAGE_PATH).get("english_prompt_phrases") or [] if p]
    literals = tuple(p.lower() for p in phrases)
    return literals if all(_PLAIN_PHRASE.fullmatch(p) for p in literals) else None


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
