"""Response candidates for hits@1: the gold reply plus distractors drawn from other dialogues of the same
language and split, with a fixed seed, shuffled so the gold is not always last; saved to JSONL so any
run can be re-scored on exactly the same candidates."""

from __future__ import annotations

import random
from collections import defaultdict
from pathlib import Path

from baselines.instance import Instance
from moud_core.errors import MoudError
from moud_core.jsonl import iter_jsonl, write_jsonl_atomic


def attach_candidates(instances: list[Instance], num_candidates: int = 20, seed: int = 0) -> list[Instance]:
    """Return copies of ``instances`` with ``candidates``/``label`` set.

    Instances that already carry candidates (PersonaChat) keep the gold and their last distractors.
    Each instance draws from its own RNG seeded by (seed, language, dialogue, turn), so the result does
    not depend on the order or on which other languages are loaded.
    """
    if num_candidates < 1:
        raise MoudError(f"num_candidates: expected at least 1, got {num_candidates}")
    pools: dict[str, list[tuple[str, str]]] = defaultdict(list)
    seen: dict[str, set] = defaultdict(set)
    for inst in instances:
        key = (inst.dialogue_id, inst.reply)
        if key not in seen[inst.language]:
            seen[inst.language].add(key)
            pools[inst.language].append(key)
    for pool in pools.values():
        pool.sort()  # canonical order: the draw must not depend on the order instances were loaded in
    out = []
    for inst in instances:
        rng = random.Random(f"{seed}:{inst.language}:{inst.dialogue_id}:{inst.turn}")
        if inst.candidates:
            others = [c for i, c in enumerate(inst.candidates) if i != inst.label and c != inst.reply]
            distractors = others[-(num_candidates - 1) :] if num_candidates > 1 else []
        else:
            distractors = _draw(pools[inst.language], inst, num_candidates - 1, rng)
        cands = distractors + [inst.reply]
        rng.shuffle(cands)
        out.append(Instance(**{**inst.to_json(), "candidates": cands, "label": cands.index(inst.reply)}))
    return out


def _draw(pool: list[tuple[str, str]], inst: Instance, k: int, rng: random.Random) -> list[str]:
    if k <= 0:
        return []
    eligible = sum(1 for d, r in pool if d != inst.dialogue_id and r != inst.reply)
    if eligible < k:
        raise MoudError(
            f"language {inst.language!r}: only {eligible} replies from other dialogues to draw "
            f"{k} distractors from; use fewer candidates (--num-candidates) or more data"
        )
    chosen: list[str] = []
    used: set[str] = {inst.reply}
    order = rng.sample(range(len(pool)), len(pool)) if len(pool) <= 4 * k else None
    i = 0
    while len(chosen) < k:
        if order is not None:
            if i >= len(order):  # only duplicates left
                raise MoudError(
                    f"language {inst.language!r}: not enough distinct replies for {k} distractors"
                )
            d, r = pool[order[i]]
            i += 1
        else:
            d, r = pool[rng.randrange(len(pool))]
            i += 1
            if i > 1000 * k:
                raise MoudError(
                    f"language {inst.language!r}: not enough distinct replies for {k} distractors"
                )
        if d != inst.dialogue_id and r not in used:
            used.add(r)
            chosen.append(r)
    return chosen


def save_candidates(path: str | Path, instances: list[Instance]) -> int:
    return write_jsonl_atomic(path, (inst.to_json() for inst in instances))


def load_candidates(path: str | Path) -> list[Instance]:
    path = Path(path)
    if not path.is_file():
        raise MoudError(f"{path}: candidates file not found")
    out = []
    for lineno, obj in iter_jsonl(path):
        inst = Instance.from_json(obj, f"{path}:{lineno}")
        if not inst.candidates:
            raise MoudError(f"{path}:{lineno}: field 'candidates': expected a non-empty list")
        out.append(inst)
    return out
