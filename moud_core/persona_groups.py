"""Persona groups: the dialogues of one language that share a persona, or a near-duplicate of one, belong to
one group, so a split by group never puts one person in two splits.

A persona is compared as the set of its normalized sentences (case-folded, punctuation and spacing removed).
Two personas are near-duplicates when the Jaccard similarity of those sets reaches ``threshold``
(``data/splits.yaml``: 0.6, i.e. 4 of 5 sentences in common; sharing a hobby sentence or two is not being the
same person). Candidate pairs come from prefix filtering (the exact set-similarity join of Bayardo et al.,
"Scaling up all pairs similarity search", 2007): with sentences ordered rarest first, two sets with Jaccard
>= t share a sentence among their first ``|S| - ceil(t |S|) + 1``, so frequent sentences (a collapsed
generator's favourites) never make a quadratic bucket. Groups are the connected components (union-find).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable

import regex

_MARKS = regex.compile(r"[\p{P}\p{S}]+")


def normalize_sentence(sentence: str) -> str:
    """Case-folded, punctuation and symbols removed, spacing collapsed."""
    return " ".join(_MARKS.sub(" ", sentence.casefold()).split())


def persona_set(persona: Iterable[str]) -> frozenset[str]:
    return frozenset(s for s in map(normalize_sentence, persona) if s)


class _UnionFind:
    def __init__(self, n: int):
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def jaccard(a: frozenset, b: frozenset) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


def persona_components(dialogues: list[tuple[frozenset, frozenset]], threshold: float) -> list[int]:
    """For each dialogue (its two persona sets), the index of the first dialogue of its group."""
    personas = [p for pair in dialogues for p in pair]  # persona 2i and 2i+1 belong to dialogue i
    freq = Counter(s for p in set(personas) for s in p)
    uf = _UnionFind(len(dialogues))
    owner: dict[frozenset, int] = {}  # exact persona -> first dialogue that has it
    index: dict[str, list[int]] = {}  # prefix sentence -> personas (as positions) indexed so far
    for pos, p in enumerate(personas):
        d = pos // 2
        first = owner.setdefault(p, d)
        uf.union(d, first)
        if first != d or not p:  # an exact repeat: already linked to everything its twin is
            continue
        ordered = sorted(p, key=lambda s: (freq[s], s))
        prefix = ordered[: len(p) - math.ceil(threshold * len(p)) + 1]
        seen: set[int] = set()
        for s in prefix:
            for other in index.get(s, ()):
                if other not in seen and other // 2 != d:
                    seen.add(other)
                    if jaccard(p, personas[other]) >= threshold:
                        uf.union(d, other // 2)
            index.setdefault(s, []).append(pos)
    return [uf.find(i) for i in range(len(dialogues))]
