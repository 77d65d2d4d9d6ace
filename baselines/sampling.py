"""``--max-instances N`` for smoke runs: a seeded sample spread over every (source, language) stratum instead
of the first N rows (which would be one language of one source)."""

from __future__ import annotations

import random
from collections import defaultdict


def stratified_sample(instances: list, n: int, seed: int = 0) -> list:
    """``n`` instances taken in turn from each (source, language) stratum, each shuffled with its own seeded
    RNG: equal shares, and what a small stratum cannot give goes to the others."""
    if n >= len(instances):
        return list(instances)
    strata: dict[tuple[str, str], list] = defaultdict(list)
    for inst in instances:
        strata[(inst.source, inst.language)].append(inst)
    queues = []
    for key in sorted(strata):
        items = list(strata[key])
        random.Random(f"{seed}:sample:{key[0]}:{key[1]}").shuffle(items)
        queues.append(items)
    out: list = []
    depth = 0
    while len(out) < n:
        for items in queues:
            if depth < len(items) and len(out) < n:
                out.append(items[depth])
        depth += 1
    return out
