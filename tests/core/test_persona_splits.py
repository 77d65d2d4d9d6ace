"""Persona-level split groups: no person in two splits (same persona, reordered, near-duplicate), sharing a
sentence or two is not being the same person, the prefix-filtered join finds exactly the pairs a brute-force
comparison finds, new personas move no existing row, and small languages still get validation and test."""

from __future__ import annotations

import random

import pytest

from moud_core.persona_groups import jaccard, persona_components, persona_set
from moud_core.splits import near_duplicate_threshold, plan_splits

BANK = [f"J'habite à la ville numéro {i} et j'aime le plat {i * 7 % 13}." for i in range(60)]


def _rows(n: int, seed: int = 0, bank=BANK) -> list[tuple[str, list[str], list[str]]]:
    rng = random.Random(seed)
    return [(f"g{seed}-{i:04d}", rng.sample(bank, 5), rng.sample(bank, 5)) for i in range(n)]


def _persons_by_split(rows, splits) -> dict[frozenset, set[str]]:
    seen: dict[frozenset, set[str]] = {}
    for (_, a, b), split in zip(rows, splits, strict=True):
        for p in (persona_set(a), persona_set(b)):
            seen.setdefault(p, set()).add(split)
    return seen


def _brute_force(dialogues, threshold) -> list[set[int]]:
    n = len(dialogues)
    parent = list(range(n))

    def find(i):
        while parent[i] != i:
            i = parent[i]
        return i

    for i in range(n):
        for j in range(i + 1, n):
            if any(jaccard(p, q) >= threshold for p in dialogues[i] for q in dialogues[j]):
                parent[find(j)] = find(i)
    groups: dict[int, set[int]] = {}
    for i in range(n):
        groups.setdefault(find(i), set()).add(i)
    return sorted(groups.values(), key=min)


@pytest.mark.parametrize("seed", range(4))
def test_the_join_finds_the_same_groups_as_comparing_every_pair(seed):
    rng = random.Random(seed)
    small = BANK[:12]  # a collapsed generator: many near-duplicates
    dialogues = [(persona_set(rng.sample(small, 5)), persona_set(rng.sample(small, 5))) for _ in range(80)]
    first = persona_components(dialogues, near_duplicate_threshold())
    groups: dict[int, set[int]] = {}
    for i, root in enumerate(first):
        groups.setdefault(root, set()).add(i)
    assert sorted(groups.values(), key=min) == _brute_force(dialogues, near_duplicate_threshold())


def test_no_person_is_in_two_splits_even_reordered_or_near_duplicated():
    rows = _rows(300, bank=BANK[:40])  # about 50 near-duplicate pairs among 600 personas
    twin = rows[0][1]
    rows += [
        ("x1", list(reversed(twin)), ["Autre chose."] * 1),  # the same person, sentences reordered
        ("x2", [s.upper().replace(".", " !") for s in twin[:4]] + ["Je joue du piano."], ["Rien."]),  # 4 of 5
    ]
    splits = plan_splits(rows, seed=1, ratios=(0.6, 0.2, 0.2)).splits
    assert len(set(splits)) == 3
    by_person = _persons_by_split(rows, splits)
    assert {p: s for p, s in by_person.items() if len(s) > 1} == {}
    people = list(by_person)
    near = [
        (p, q)
        for k, p in enumerate(people)
        for q in people[k + 1 :]
        if jaccard(p, q) >= near_duplicate_threshold()
    ]
    assert near and all(by_person[p] == by_person[q] for p, q in near)
    assert splits[-2] == splits[0] and splits[-1] == splits[0]


def test_a_shared_hobby_sentence_is_not_the_same_person():
    hobby = "J'adore faire du vélo le dimanche."
    rows = [
        (f"g{i}", [hobby, f"Je m'appelle Personne{i}.", f"J'habite à V{i}."], [f"Bonjour {i}."])
        for i in range(40)
    ]
    splits = plan_splits(rows, seed=0, ratios=(0.5, 0.25, 0.25)).splits
    assert len(set(splits)) == 3  # 40 groups, not one


def test_rows_with_new_personas_move_no_existing_row():
    old = _rows(200, seed=5)
    new = _rows(100, seed=6, bank=[s.replace("ville", "bourg") for s in BANK])  # other people
    before = plan_splits(old, seed=2, ratios=(0.8, 0.1, 0.1)).splits
    after = plan_splits(old + new, seed=2, ratios=(0.8, 0.1, 0.1)).splits
    assert after[: len(old)] == before
    alone = plan_splits(new, seed=2, ratios=(0.8, 0.1, 0.1)).splits
    assert after[len(old) :] == alone  # the new people's groups do not depend on the old rows


def test_a_small_language_gets_validation_and_test_when_it_has_three_groups():
    rows = [(f"{i:04d}", [f"Je suis la personne {i}."], [f"Tu es la personne {i}."]) for i in range(3)]
    for seed in range(20):
        splits, _, notes = plan_splits(rows, seed=seed, ratios=(0.9, 0.05, 0.05))
        assert sorted(splits) == ["test", "train", "validation"], (seed, notes)
    two, _, notes = plan_splits(rows[:2], seed=0, ratios=(0.9, 0.05, 0.05))
    assert notes == []  # two groups: nothing to guarantee (the build warns)
