"""Response candidates for hits@1: the gold reply plus distractors drawn from other dialogues of the same
source and language (MOUD distractors for a MOUD turn, XPersona ones for an XPersona turn), with a fixed seed,
shuffled so the gold is not always last; saved to JSONL so any run can be re-scored on exactly the same
candidates. Each candidate keeps the id of the turn it comes from (``candidate_ids``)."""

from __future__ import annotations

import random
from collections import defaultdict
from pathlib import Path

from baselines.instance import Instance, reply_id
from moud_core.errors import MoudError
from moud_core.jsonl import iter_jsonl, write_jsonl_atomic

# (dialogue id, turn, reply) of every turn a distractor may come from
Pool = list[tuple[str, int, str]]


def reply_pools(instances) -> dict[tuple[str, str], Pool]:
    """Turns per (source, language) in a canonical order (the draw must not depend on the load order)."""
    seen: dict[tuple[str, str], set] = defaultdict(set)
    for inst in instances:
        seen[(inst.source, inst.language)].add((inst.dialogue_id, inst.turn, inst.reply))
    return {key: sorted(turns) for key, turns in seen.items()}


def attach_candidates(
    instances: list[Instance],
    num_candidates: int = 20,
    seed: int = 0,
    pool: list[Instance] | None = None,
    allow_fewer: bool = False,
) -> list[Instance]:
    """Return copies of ``instances`` with ``candidates``/``label``/``candidate_ids`` set.

    Distractors come from ``pool`` (default: ``instances``) of the instance's own source and language, from
    other dialogues, never a reply equal to the gold. Fewer than ``num_candidates - 1`` eligible replies is
    an error, unless ``allow_fewer`` (evaluation): then every eligible reply is used. Instances that already
    carry candidates (PersonaChat) keep the gold and their last distractors. Each instance draws from its own
    RNG seeded by (seed, language, dialogue, turn), so the result does not depend on the order or on which
    other languages are loaded.
    """
    if num_candidates < 1:
        raise MoudError(f"num_candidates: expected at least 1, got {num_candidates}")
    pools = reply_pools(instances if pool is None else pool)
    out = []
    for inst in instances:
        rng = random.Random(f"{seed}:{inst.language}:{inst.dialogue_id}:{inst.turn}")
        if inst.candidates:
            others = [
                (f"{inst.id}/c{i}", c)
                for i, c in enumerate(inst.candidates)
                if i != inst.label and c != inst.reply
            ]
            chosen = others[-(num_candidates - 1) :] if num_candidates > 1 else []
        else:
            turns = pools.get((inst.source, inst.language), [])
            chosen = _draw(turns, inst, num_candidates - 1, rng, allow_fewer)
        pairs = chosen + [(inst.id, inst.reply)]
        rng.shuffle(pairs)
        cands = [c for _, c in pairs]
        out.append(
            Instance(
                **{
                    **inst.to_json(),
                    "candidates": cands,
                    "label": cands.index(inst.reply),
                    "candidate_ids": [i for i, _ in pairs],
                }
            )
        )
    return out


def _draw(pool: Pool, inst: Instance, k: int, rng: random.Random, allow_fewer: bool) -> list[tuple[str, str]]:
    """Up to ``k`` (id, reply) distractors with distinct texts from other dialogues: random picks first
    (cheap on a large pool), then, when they fall short, a pass over every eligible turn in random order."""
    if k <= 0:
        return []
    chosen: list[tuple[str, str]] = []
    used: set[str] = {inst.reply}

    def take(d: str, t: int, r: str) -> None:
        if d != inst.dialogue_id and r not in used:
            used.add(r)
            chosen.append((reply_id(d, t), r))

    if len(pool) > 4 * k:
        for _ in range(20 * k):
            take(*pool[rng.randrange(len(pool))])
            if len(chosen) == k:
                return chosen
    for i in rng.sample(range(len(pool)), len(pool)):
        take(*pool[i])
        if len(chosen) == k:
            return chosen
    if not allow_fewer:
        raise MoudError(
            f"{inst.source} language {inst.language!r}: only {len(chosen)} replies from other dialogues to "
            f"draw {k} distractors from; use fewer candidates (--num-candidates) or more data"
        )
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
