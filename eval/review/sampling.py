"""Stratified, seeded sample of dialogues for native-speaker review, with overlapping rater assignments.

Strata: language x speech event x judge-score bucket (the mean judge score over the rubric's criteria,
oriented higher-is-better; ``unjudged`` without judgments). Allocation is equal across buckets, and
within a bucket round-robin across speech events, so that the sample covers the judge's whole scale
(agreement on a narrow range of scores says little). Every item gets ``raters_per_item`` of the
language's raters, chosen greedily: the least-loaded raters first, then the pairs that have shared the
fewest items, so that each rater pair overlaps for pairwise agreement. Same input and seed -> same sample
and assignments (the access tokens are the only random part, and are not derived from the seed).
"""

from __future__ import annotations

import itertools
import random
from collections import defaultdict
from dataclasses import dataclass

from eval.aggregate import ItemScores, _overall
from eval.review.dataset import RowKey
from eval.rubric import Rubric
from moud_core.seeds import derive_seed

BUCKETS = ("low", "mid", "high", "unjudged")  # mean judge score < 2.5, < 3.5, >= 3.5, none
ITEM_PART = "dialogue"


def item_id(row_id: str) -> str:
    """The judge's id of a dialogue item (``eval.items``): ``<row id>/dialogue``."""
    return f"{row_id}/{ITEM_PART}"


def judge_bucket(scores: dict[str, float] | None, rubric: Rubric) -> str:
    if not scores:
        return "unjudged"
    mean = _overall(scores, rubric)
    return "unjudged" if mean != mean else "low" if mean < 2.5 else "mid" if mean < 3.5 else "high"


@dataclass(frozen=True)
class Sampled:
    key: RowKey
    bucket: str
    judge_scores: dict[str, float] | None


def _cycle_take(queues: list[list], n: int) -> list:
    """Take one from each non-empty queue in turn until ``n`` are taken or all are empty."""
    out: list = []
    queues = [list(q) for q in queues if q]
    while queues and len(out) < n:
        for q in queues:
            if len(out) < n and q:
                out.append(q.pop(0))
        queues = [q for q in queues if q]
    return out


def sample_language(
    language: str, keys: list[RowKey], judged: ItemScores | None, rubric: Rubric, per_language: int, seed: int
) -> list[Sampled]:
    """Up to ``per_language`` rows of one language, bucket by bucket and event by event in turn."""
    strata: dict[str, dict[str, list[Sampled]]] = defaultdict(lambda: defaultdict(list))
    for k in sorted(keys, key=lambda k: k.row_id):
        scores = judged.scores.get((k.generator_model, item_id(k.row_id))) if judged is not None else None
        s = Sampled(k, judge_bucket(scores, rubric), scores)
        strata[s.bucket][k.speech_event].append(s)
    per_bucket = []
    for bucket in BUCKETS:
        events = sorted(strata.get(bucket, {}))
        random.Random(derive_seed(seed, "review-events", language, bucket)).shuffle(events)
        queues = []
        for event in events:
            rows = strata[bucket][event]
            random.Random(derive_seed(seed, "review-rows", language, bucket, event)).shuffle(rows)
            queues.append(rows)
        per_bucket.append(_cycle_take(queues, per_language))
    return _cycle_take(per_bucket, per_language)


def rater_ids(language: str, n: int) -> list[str]:
    return [f"{language}-r{i}" for i in range(1, n + 1)]


def assign(n_items: int, raters: list[str], per_item: int, seed: int) -> list[tuple[str, ...]]:
    """Raters for each of ``n_items`` items: least load first, then least overlap with those already
    chosen for the item, then a seeded tie-break."""
    rng = random.Random(derive_seed(seed, "review-assign", *raters))
    load = dict.fromkeys(raters, 0)
    shared: dict[frozenset, int] = defaultdict(int)
    out = []
    for _ in range(n_items):
        chosen: list[str] = []
        ties = {r: rng.random() for r in raters}
        for _ in range(per_item):
            best = min(
                (r for r in raters if r not in chosen),
                key=lambda r: (load[r], sum(shared[frozenset((r, c))] for c in chosen), ties[r]),
            )
            chosen.append(best)
        for r in chosen:
            load[r] += 1
        for a, b in itertools.combinations(chosen, 2):
            shared[frozenset((a, b))] += 1
        out.append(tuple(sorted(chosen, key=raters.index)))
    return out
