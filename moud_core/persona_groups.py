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
from collections.abc import Iterable, Sequence

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
    if not (a or b):
        return 1.0
    shared = len(a & b)
    return shared / (len(a) + len(b) - shared)


def near_duplicate_pairs(sets: Sequence[frozenset], threshold: float) -> list[tuple[int, int]]:
    """Pairs ``(i, j)``, ``i < j``, of the non-empty ``sets`` (distinct) whose Jaccard similarity reaches
    ``threshold``, found by the prefix-filtered join of the module docstring."""
    freq = Counter(s for p in sets for s in p)
    index: dict[str, list[int]] = {}  # prefix sentence -> sets indexed so far
    pairs = []
    for i, p in enumerate(sets):
        if not p:
            continue
        ordered = sorted(p, key=lambda s: (freq[s], s))
        prefix = ordered[: len(p) - math.ceil(threshold * len(p)) + 1]
        seen: set[int] = set()
        for s in prefix:
            for j in index.get(s, ()):
                if j not in seen:
                    seen.add(j)
                    if jaccard(p, sets[j]) >= threshold:
                        pairs.append((j, i))
            index.setdefault(s, []).append(i)
    return sorted(pairs)


def persona_components(
    dialogues: list[tuple[frozenset, frozenset]],
    threshold: float,
    pairs: Iterable[tuple[frozenset, frozenset]] | None = None,
) -> list[int]:
    """For each dialogue (its two persona sets), the index of the first dialogue of its group. ``pairs``: the
    near-duplicate pairs of the distinct persona sets at ``threshold`` when already known (as
    ``set_pairs`` gives them), else they are computed here."""
    owner: dict[frozenset, int] = {}  # exact persona -> first dialogue that has it
    uf = _UnionFind(len(dialogues))
    for d, pair in enumerate(dialogues):
        for p in pair:
            uf.union(d, owner.setdefault(p, d))
    for a, b in set_pairs(list(owner), threshold) if pairs is None else pairs:
        uf.union(owner[a], owner[b])
    return [uf.find(i) for i in range(len(dialogues))]


def set_pairs(sets: Sequence[frozenset], threshold: float) -> list[tuple[frozenset, frozenset]]:
    """``near_duplicate_pairs`` of distinct ``sets``, as the pairs of sets themselves."""
    return [(sets[i], sets[j]) for i, j in near_duplicate_pairs(sets, threshold)]
