"""Persona-twin gate: persona B must be another person than persona A.

A persona B sentence fails when it repeats one of persona A's sentences: the same words (in any order), a
near-duplicate (token-set Jaccard of shingles at or above ``jaccard``: a word or two changed), or the same
first name introduced ("je m'appelle Camille" in both; phrases per language in data/persona_names.yaml).
Inline (``TextGates``) persona B's sentences are checked with persona A's as ``TextItem.personas`` (B is
regenerated); ``moud filter`` checks a row's persona B against its persona A. Distinct people may share a
word ("hiking") or a sentence frame ("I work as a nurse" / "I work as a teacher"): only near-whole-sentence
overlap counts.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field

import regex

from moud_core.errors import ConfigError
from moud_core.text import ngrams, normalize
from moud_core.typed_config import at_least, between
from moud_core.yamlio import load_yaml
from moud_gates.base import Drop, Gate, GateContext, TextItem, clip, register
from moud_gates.data_dir import DATA_DIR

NAMES_PATH = DATA_DIR / "persona_names.yaml"


@functools.lru_cache(maxsize=1)
def _names_data() -> dict:
    data = load_yaml(NAMES_PATH)
    if not isinstance(data, dict) or "en" not in data:
        raise ConfigError(f"{NAMES_PATH}: expected a mapping of language code -> {{intro: [...]}} (with en)")
    for code, entry in data.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("intro"), list) or not entry["intro"]:
            raise ConfigError(f"{NAMES_PATH}: {code}: expected a mapping with a non-empty list 'intro'")
        if set(entry) - {"intro", "suffixes", "name_chars"}:
            raise ConfigError(f"{NAMES_PATH}: {code}: expected keys intro, suffixes, name_chars")
    return data


@functools.cache
def name_rule(code: str) -> tuple[regex.Pattern, tuple[str, ...], int | None]:
    """(the pattern whose group ``name`` is an introduced first name, suffixes to strip, letters compared)."""
    data = _names_data()
    entries = [data["en"]] + ([data[code]] if code in data and code != "en" else [])
    intros = sorted({normalize(p) for e in entries for p in e["intro"]}, key=len, reverse=True)
    entry = data.get(code, {})
    chars = entry.get("name_chars")
    name = rf"[\p{{L}}\p{{M}}]{{1,{chars}}}" if chars else r"[\p{L}\p{M}][\p{L}\p{M}'’-]*"
    alternatives = "|".join(r"[\s,]+".join(regex.escape(w) for w in p.split()) for p in intros)
    pattern = regex.compile(rf"(?<![\p{{L}}\p{{M}}])(?:{alternatives})[\s,:]*(?P<name>{name})")
    return pattern, tuple(sorted(entry.get("suffixes", ()), key=len, reverse=True)), chars


def first_name(sentence: str, code: str) -> str | None:
    """The first name a persona sentence introduces (case-folded), or None."""
    pattern, suffixes, _ = name_rule(code)
    m = pattern.search(normalize(sentence))
    if m is None:
        return None
    name = m.group("name")
    for suffix in suffixes:
        if name.endswith(suffix) and len(name) > len(suffix):
            name = name[: -len(suffix)]
            break
    return name


def shingles(tokens: list[str], n: int) -> frozenset:
    return frozenset(tokens if n <= 1 or len(tokens) < n else ngrams(tokens, n))


def jaccard(a: frozenset, b: frozenset) -> float:
    return len(a & b) / len(a | b) if a or b else 0.0


@register
class PersonaTwinGate(Gate):
    name = "persona_twin"

    @dataclass(frozen=True)
    class Params:
        """``persona_twin`` settings (data/filters.yaml)."""

        jaccard: float = field(metadata=between(0, 1))
        min_tokens: int = field(metadata=at_least(1))
        shingle_n: int = field(metadata=at_least(1))
        max_failed: int = field(metadata=at_least(0))

    def warm(self, ctx: GateContext) -> None:
        name_rule(ctx.lang.code)

    def applies(self, where: str, ctx: GateContext) -> bool:
        return where.startswith("persona_b[")

    def texts(self, row: dict, ctx: GateContext) -> list[tuple[str, str]]:
        return [(f"persona_b[{i}]", s) for i, s in enumerate(row["persona_b"])]

    def check_text(self, item: TextItem, ctx: GateContext) -> Drop | None:
        """``item.personas``: persona A's sentences (nothing to compare without them)."""
        if not item.personas:
            return None
        return self.compare(item.where, item.text, item.personas, ctx)

    def compare(self, where: str, text: str, persona_a: Sequence[str], ctx: GateContext) -> Drop | None:
        p, code = ctx.params, ctx.lang.code
        tokens = ctx.tokens(text)
        mine = shingles(tokens, p["shingle_n"])
        name = first_name(text, code)
        for other in persona_a:
            theirs_tokens = ctx.tokens(other)
            if tokens and set(tokens) == set(theirs_tokens):
                return self._drop(where, "shared_sentence", "repeats persona A's sentence", other, text, 1.0)
            if min(len(tokens), len(theirs_tokens)) < p["min_tokens"]:
                continue
            if name is not None and first_name(other, code) not in (None, name):
                continue  # two people introducing different names in the same frame
            score = jaccard(mine, shingles(theirs_tokens, p["shingle_n"]))
            if score >= p["jaccard"]:
                return self._drop(
                    where, "near_duplicate", "nearly repeats persona A's sentence", other, text, score
                )
        if name is not None:
            for other in persona_a:
                if first_name(other, code) == name:
                    return Drop(
                        self.name,
                        f"{where}: the same first name {name!r} as persona A ({clip(other, 40)!r})",
                        {"field": where, "kind": "same_name", "match": other, "name": name},
                    )
        return None

    def _drop(self, where: str, kind: str, what: str, other: str, text: str, score: float) -> Drop:
        return Drop(
            self.name,
            f"{where}: {what} {clip(other, 40)!r} ({clip(text, 40)!r}, Jaccard {score:.2f})",
            {"field": where, "kind": kind, "match": other, "jaccard": round(score, 3)},
        )

    def check(self, row: dict, ctx: GateContext) -> Drop | None:
        persona_a, persona_b = row["persona_a"], row["persona_b"]
        if persona_a and sorted(persona_a) == sorted(persona_b) and persona_a != persona_b:
            return Drop(
                self.name,
                f"persona_b: persona A's sentences in another order ({clip(persona_b[0], 40)!r})",
                {"field": "persona_b", "kind": "reordered", "match": persona_a[0]},
            )
        limit = ctx.params["max_failed"]
        failed = [d for d in (self.compare(w, t, persona_a, ctx) for w, t in self.texts(row, ctx)) if d]
        if len(failed) > limit:
            failed[0].scores["failed"] = len(failed)
            return failed[0]
        return None
