"""The per-dialogue caches of the repetition and leakage gates change no decision: checks of interleaved
dialogues (as ``moud generate`` makes them, hundreds in flight) through one shared gate give the same drops
as a fresh gate per check."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from generation.testing.crowdworker import BANK
from moud_core.languages import get_language, load_registry
from moud_gates.base import GateContext, TextItem
from moud_gates.config import FilterConfig
from moud_gates.context_cache import ContextCache
from moud_gates.gates.leakage import LeakageGate
from moud_gates.gates.repetition import RepetitionGate


def _dialogues(lang: str, n: int, seed: int) -> list[tuple[list[str], list[str]]]:
    """(turns, personas) with loops: exact repeats, near-repeats ("Ah, " + an earlier turn), copied
    persona sentences, labels and boilerplate, so that every rule the caches feed fires now and then."""
    rng = random.Random(seed)
    utts = BANK[lang]["utterance"]
    personas = [p if isinstance(p, str) else p[0] for p in BANK[lang]["persona"]]
    out = []
    for _ in range(n):
        pers = rng.sample(personas, min(10, len(personas)))
        turns: list[str] = []
        for _ in range(rng.randint(4, 16)):
            roll = rng.random()
            if turns and roll < 0.12:
                turns.append(rng.choice(turns))
            elif turns and roll < 0.24:
                turns.append("Ah, " + rng.choice(turns))
            elif roll < 0.3:
                turns.append(rng.choice(pers))
            elif roll < 0.34:
                turns.append("B: " + rng.choice(utts))
            elif roll < 0.38:
                turns.append("Here is my reply: " + rng.choice(utts))
            else:
                turns.append(rng.choice(utts))
        out.append((turns, pers))
    return out


@pytest.mark.parametrize("lang", ["fr", "zh", "ar"])
@pytest.mark.parametrize("gate_class", [RepetitionGate, LeakageGate])
def test_shared_gate_matches_fresh_gate_per_check(lang, gate_class):
    config = FilterConfig.load(None)
    language = get_language(lang, load_registry())
    params = config.for_language(language, inline=True)[gate_class.name]
    dialogues = _dialogues(lang, 40, seed=7)
    # interleave: each step checks the next turn of a random unfinished dialogue, sometimes twice (a retry)
    rng, shared, progress, fired = random.Random(3), gate_class(), [0] * len(dialogues), Counter()
    while any(i < len(d[0]) for i, d in zip(progress, dialogues, strict=True)):
        k = rng.choice([j for j, d in enumerate(dialogues) if progress[j] < len(d[0])])
        turns, personas = dialogues[k]
        i = progress[k]
        for _ in range(2 if rng.random() < 0.2 else 1):
            item = TextItem(f"turns[{i}]", turns[i], turns[:i], personas)
            got = shared.check_text(item, GateContext(language, params, Counter(), {}))
            want = gate_class().check_text(item, GateContext(language, params, Counter(), {}))
            assert (got and (got.gate, got.reason, got.scores)) == (
                want and (want.gate, want.reason, want.scores)
            )
            fired[want.scores.get("kind") if want else None] += 1
        progress[k] += 1
    assert len(fired) >= 3, fired  # the check saw passes and at least two kinds of drop of this gate


def test_cache_is_bounded_and_keyed_by_settings():
    language = get_language("fr", load_registry())
    cache, made = ContextCache(size=2), []
    a, b = {"x": 1}, {"x": 1}  # equal settings, different objects: never mixed up
    ctx_a, ctx_b = GateContext(language, a, Counter()), GateContext(language, b, Counter())
    assert cache.get(ctx_a, ("t",), lambda: made.append("a") or "A") == "A"
    assert cache.get(ctx_a, ("t",), lambda: made.append("a2") or "A2") == "A"
    assert cache.get(ctx_b, ("t",), lambda: made.append("b") or "B") == "B"
    assert cache.take(ctx_a, ("t",)) == "A" and cache.take(ctx_a, ("t",)) is None
    for i in range(5):
        cache.get(ctx_a, (str(i),), lambda: "v")
    assert len(cache._data) <= 2
    assert made == ["a", "b"]
