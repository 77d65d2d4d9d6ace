"""Deterministic, grouped split assignment: hash(seed, group) -> train / validation / test.

A language's dialogues are grouped by person first (``persona_groups``): dialogues that share a persona, or
a near-duplicate of one, form one group, named by the smallest ``split_group`` (persona pair) in it. Each
group lands in one split by the hash of its name, so no person is in two splits.

What adding rows does: a row whose personas are new forms its own group and moves no other row (the property
the split had when it grouped by exact persona pair). A row that shares a person with existing rows joins
their group and takes its split; one that links two groups merges them under the smaller name, which can
move the rows of the other. And with at least three groups, validation and test each get one (``plan_splits``
moves the group nearest to an empty split's band there), which a language's first rows may later undo.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path
from typing import NamedTuple

from moud_core.errors import ConfigError
from moud_core.persona_groups import persona_components, persona_set
from moud_core.yamlio import load_yaml

SPLITS = ("train", "validation", "test")
DEFAULT_RATIOS = (0.9, 0.05, 0.05)


def parse_ratios(spec: str | tuple | list) -> tuple[float, float, float]:
    """'0.9,0.05,0.05' -> (0.9, 0.05, 0.05); three non-negative numbers summing to 1."""
    parts = spec.split(",") if isinstance(spec, str) else list(spec)
    try:
        ratios = tuple(float(p) for p in parts)
    except (TypeError, ValueError):
        raise ConfigError(
            f"--split-ratios: expected three numbers like 0.9,0.05,0.05, got {spec!r}"
        ) from None
    if len(ratios) != 3 or any(r < 0 for r in ratios) or abs(sum(ratios) - 1.0) > 1e-6:
        raise ConfigError(
            "--split-ratios: expected three non-negative numbers (train,validation,test) summing to 1, "
            f"got {spec!r}"
        )
    return ratios  # type: ignore[return-value]


def group_position(split_group: str, seed: int) -> float:
    """A uniform number in [0, 1) fixed by (seed, split_group)."""
    digest = hashlib.sha256(f"moud-split\x1f{seed}\x1f{split_group}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def assign_split(split_group: str, seed: int = 0, ratios: tuple[float, float, float] = DEFAULT_RATIOS) -> str:
    pos = group_position(split_group, seed)
    edge = 0.0
    for name, ratio in zip(SPLITS, ratios, strict=True):
        edge += ratio
        if pos < edge:
            return name
    # Rounding left pos above the last edge: the last split with a non-zero ratio takes it.
    return next(n for n, r in zip(reversed(SPLITS), reversed(ratios), strict=True) if r > 0)


@functools.lru_cache(maxsize=1)
def near_duplicate_threshold() -> float:
    return float(load_yaml(Path(__file__).parent / "data" / "splits.yaml")["near_duplicate_persona_jaccard"])


def _band(name: str, ratios) -> tuple[float, float]:
    i = SPLITS.index(name)
    return sum(ratios[:i]), sum(ratios[: i + 1])


class SplitPlan(NamedTuple):
    splits: list[str]  # per row
    groups: list[str]  # per row: its persona group's name
    notes: list[str]  # groups moved so that validation and test are not empty


def plan_splits(
    rows: list[tuple[str, list[str], list[str]]], seed: int = 0, ratios=DEFAULT_RATIOS
) -> SplitPlan:
    """The split and persona group of each of one language's rows, given as (split_group, persona_a,
    persona_b) (see the module docstring)."""
    sets = [(persona_set(a), persona_set(b)) for _, a, b in rows]
    return plan_splits_of_sets([r[0] for r in rows], sets, seed, ratios)


def plan_splits_of_sets(
    split_groups: list[str],
    persona_sets: list[tuple[frozenset, frozenset]],
    seed: int = 0,
    ratios=DEFAULT_RATIOS,
    pairs: list[tuple[frozenset, frozenset]] | None = None,
) -> SplitPlan:
    """``plan_splits`` of rows given as their split groups and persona sets (``persona_groups.persona_set``);
    ``pairs``: the near-duplicate pairs of the distinct persona sets at ``near_duplicate_threshold()`` when
    already computed (``PersonaCollapse.set_pairs``)."""
    first = persona_components(persona_sets, near_duplicate_threshold(), pairs)
    name: dict[int, str] = {}
    for i, root in enumerate(first):
        name[root] = min(name.get(root, split_groups[i]), split_groups[i])
    group_split = {g: assign_split(g, seed, ratios) for g in set(name.values())}
    notes = _fill_empty_splits(group_split, seed, ratios)
    return SplitPlan([group_split[name[root]] for root in first], [name[root] for root in first], notes)


def _fill_empty_splits(group_split: dict[str, str], seed: int, ratios) -> list[str]:
    notes = []
    if len(group_split) < 3:
        return notes
    for target in ("test", "validation"):
        if ratios[SPLITS.index(target)] <= 0 or target in group_split.values():
            continue
        lo, hi = _band(target, ratios)
        sizes = {s: list(group_split.values()).count(s) for s in SPLITS}
        movable = [g for g, s in group_split.items() if sizes[s] > 1]
        if not movable:
            continue
        mid = (lo + hi) / 2
        g = min(movable, key=lambda g: (abs(group_position(g, seed) - mid), g))
        notes.append(f"group {g} moved from {group_split[g]} to {target}, which had no group")
        group_split[g] = target
    return notes
