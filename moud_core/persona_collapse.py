"""Persona collapse in one language: how often the same persona sentences, first names and places come back
across a corpus, and how many personas have a near-duplicate in another dialogue.

Used by ``moud stats`` (eval), the dataset card (moud_dataset) and the optional ``persona_cap`` gate
(moud_gates). Sentences are compared normalized (``persona_groups.normalize_sentence``); near-duplicate
personas are those of ``persona_groups`` (Jaccard of sentence sets >= ``data/splits.yaml``'s threshold).
First names and places come from the per-language phrases of ``data/persona_entities.yaml``.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import regex

from moud_core.errors import ConfigError
from moud_core.persona_groups import normalize_sentence, set_pairs
from moud_core.splits import near_duplicate_threshold
from moud_core.yamlio import load_yaml

ENTITIES_FILE = Path(__file__).parent / "data" / "persona_entities.yaml"
ENTITY_KINDS = ("name", "place")
TOP_N = 10


@functools.lru_cache(maxsize=1)
def entity_patterns() -> dict[str, dict[str, list[regex.Pattern]]]:
    """{language: {"name": [compiled], "place": [compiled]}} from ``data/persona_entities.yaml``."""
    data = load_yaml(ENTITIES_FILE)
    macros = data.get("macros") or {}
    out: dict[str, dict[str, list[regex.Pattern]]] = {}
    for code, kinds in (data.get("languages") or {}).items():
        out[code] = {}
        for kind in ENTITY_KINDS:
            compiled = []
            for i, pattern in enumerate(kinds.get(kind) or []):
                for key, value in macros.items():
                    pattern = pattern.replace("{" + key + "}", value)
                where = f"{ENTITIES_FILE}: languages.{code}.{kind}[{i}]"
                try:
                    rx = regex.compile(pattern)
                except regex.error as exc:
                    raise ConfigError(f"{where}: invalid regex ({exc})") from None
                if kind not in rx.groupindex:
                    raise ConfigError(f"{where}: expected a named group (?P<{kind}>...)")
                compiled.append(rx)
            out[code][kind] = compiled
    return out


def extract_entity(sentence: str, kind: str, patterns: list[regex.Pattern]) -> str | None:
    """The first ``kind`` ("name": its first word; "place": as written) a pattern finds in ``sentence``."""
    for rx in patterns:
        m = rx.search(sentence)
        if m and m.group(kind):
            value = m.group(kind).strip(" '’-.")
            return value.split()[0] if kind == "name" and value.split() else value or None
    return None


def persona_entities(persona: Iterable[str], language: str) -> dict[str, str]:
    """{"name": ..., "place": ...}: the first of each that the persona's sentences state (casefolded keys are
    the caller's business)."""
    patterns = entity_patterns().get(language)
    found: dict[str, str] = {}
    if not patterns:
        return found
    for sentence in persona:
        for kind in ENTITY_KINDS:
            if kind not in found:
                value = extract_entity(sentence, kind, patterns[kind])
                if value:
                    found[kind] = value
    return found


def _top(counter: Counter, forms: dict[str, str], total: int, n: int) -> list[dict]:
    ranked = sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))[:n]
    return [{"text": forms[k], "count": c, "share": c / total if total else 0.0} for k, c in ranked]


class PersonaCollapse:
    """Accumulates one language's personas (``add_dialogue``) and reports the collapse measures
    (``summary``)."""

    def __init__(self, language: str, threshold: float | None = None):
        self.language = language
        self.threshold = near_duplicate_threshold() if threshold is None else threshold
        self.has_patterns = bool(entity_patterns().get(language))
        self.personas = self.sentences = 0
        self.sentence_counts: Counter = Counter()  # normalized sentence -> personas stating it
        self.entity_counts = {k: Counter() for k in ENTITY_KINDS}  # casefolded -> personas
        self.with_entity = dict.fromkeys(ENTITY_KINDS, 0)
        self.forms: dict[str, str] = {}  # normalized key -> first form seen
        self.owners: dict[frozenset, list[int]] = {}  # persona set -> dialogues holding it (repeats kept)
        self.dialogues = 0
        self._pairs: list | None = None  # set_pairs(), once

    def add_dialogue(self, personas: Iterable[list[str]]) -> tuple[frozenset, ...]:
        """The personas of one dialogue (a MOUD row has two, an XPersona dialogue one); returns their persona
        sets (``persona_groups.persona_set``), which the split by person uses too."""
        d = self.dialogues
        self.dialogues += 1
        forms = self.forms
        self._pairs = None
        out = []
        for persona in personas:
            self.personas += 1
            normalized = [normalize_sentence(s) for s in persona]
            keys = frozenset(filter(None, normalized))  # persona_groups.persona_set
            out.append(keys)
            self.sentences += sum(1 for key in normalized if key)
            for key, s in zip(normalized, persona, strict=True):
                if key and key not in forms:
                    forms[key] = " ".join(s.split())
            self.sentence_counts.update(keys)
            if keys:
                self.owners.setdefault(keys, []).append(d)
            for kind, value in persona_entities(persona, self.language).items():
                key = f"{kind}\x1f{value.casefold()}"
                self.forms.setdefault(key, value)
                self.entity_counts[kind][key] += 1
                self.with_entity[kind] += 1
        return tuple(out)

    def add_row(self, row: dict) -> tuple[frozenset, frozenset]:
        return self.add_dialogue((row["persona_a"], row["persona_b"]))

    def set_pairs(self) -> list[tuple[frozenset, frozenset]]:
        """The near-duplicate pairs (Jaccard >= threshold) of the distinct non-empty persona sets so far,
        computed once."""
        if self._pairs is None:
            self._pairs = set_pairs(list(self.owners), self.threshold)
        return self._pairs

    def near_duplicates(self) -> tuple[int, int]:
        """(pairs of personas from different dialogues that are the same person, personas with such a twin
        elsewhere): exact repeats and near-duplicates (Jaccard >= threshold) alike."""
        sets = list(self.owners)
        position = {s: i for i, s in enumerate(sets)}
        neighbours: dict[int, list[int]] = {}
        pairs = 0
        for a, b in self.set_pairs():
            i, j = position[a], position[b]
            neighbours.setdefault(i, []).append(j)
            neighbours.setdefault(j, []).append(i)
            a, b = Counter(self.owners[sets[i]]), Counter(self.owners[sets[j]])
            pairs += a.total() * b.total() - sum(a[d] * b[d] for d in a.keys() & b.keys())
        with_twin = 0
        for i, s in enumerate(sets):
            own = Counter(self.owners[s])
            k = len(self.owners[s])
            pairs += k * (k - 1) // 2 - sum(c * (c - 1) // 2 for c in own.values())  # same dialogue: twins
            others = set(own)
            for j in neighbours.get(i, ()):
                others.update(self.owners[sets[j]])
                if len(others) > 1:
                    break
            if len(others) > 1:  # a twin in another dialogue (one only in its own dialogue does not count)
                with_twin += k
        return pairs, with_twin

    def summary(self, top: int = TOP_N) -> dict:
        distinct = len(self.sentence_counts)
        pairs, with_twin = self.near_duplicates()
        out = {
            "dialogues": self.dialogues,
            "personas": self.personas,
            "persona_sentences": self.sentences,
            "distinct_sentences": distinct,
            "distinct_share": distinct / self.sentences if self.sentences else float("nan"),
            "top_sentences": _top(self.sentence_counts, self.forms, self.personas, top),
            "near_duplicate_pairs": pairs,
            "personas_with_near_duplicate": with_twin,
            "near_duplicate_share": with_twin / self.personas if self.personas else float("nan"),
            "near_duplicate_threshold": self.threshold,
            "entity_patterns": self.has_patterns,
        }
        for kind in ENTITY_KINDS:
            n = self.with_entity[kind]
            out[f"personas_with_{kind}"] = n
            out[f"top_{kind}s"] = _top(self.entity_counts[kind], self.forms, n, top)
        return out


def collapse_of(dialogues: Iterable[Iterable[list[str]]], language: str, top: int = TOP_N) -> dict:
    """``PersonaCollapse.summary`` of dialogues given as lists of personas."""
    acc = PersonaCollapse(language)
    for personas in dialogues:
        acc.add_dialogue(personas)
    return acc.summary(top)
