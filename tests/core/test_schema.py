"""validate_row's quick exact-type check never accepts a row the full check rejects."""

from __future__ import annotations

import copy
import random

from moud_core import schema
from moud_core.schema import example_row, validate_row

BAD_VALUES = [
    None,
    True,
    1,
    1.5,
    "x",
    "",
    " ",
    [],
    ["a"],
    [""],
    {},
    {"speaker": "A"},
    [{"speaker": "C", "text": "x"}],
]


def _full(row):
    """The full check alone (the quick check bypassed)."""
    original = schema._plainly_valid
    schema._plainly_valid = lambda _row: False
    try:
        return validate_row(row)
    finally:
        schema._plainly_valid = original


def _paths(obj, prefix=()):
    yield prefix
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _paths(v, (*prefix, i))


def test_valid_rows_take_the_quick_path():
    row = example_row("fr", 3, [("A", "Salut"), ("B", "Bonjour")])
    assert schema._plainly_valid(row) and validate_row(row) == [] == _full(row)


def test_quick_check_accepts_nothing_the_full_check_rejects():
    rng = random.Random(0)
    base = example_row("ja", 1, [("A", "こんにちは"), ("B", "はい"), ("A", "またね")])
    paths = [p for p in _paths(base) if p]
    for _ in range(3000):
        row = copy.deepcopy(base)
        for _ in range(rng.randint(1, 2)):
            path = rng.choice(paths)
            parent = row
            try:
                for key in path[:-1]:
                    parent = parent[key]
                if rng.random() < 0.2 and isinstance(parent, dict):
                    parent.pop(path[-1], None)
                else:
                    parent[path[-1]] = copy.deepcopy(rng.choice(BAD_VALUES))
            except (KeyError, IndexError, TypeError):
                continue
        if schema._plainly_valid(row):
            assert _full(row) == [], row
        assert validate_row(row) == _full(row)


def test_element_types_are_checked_as_the_parquet_schema_requires():
    cases = [
        (("metadata", "lid_scores"), ["x"], "metadata.lid_scores: expected a list of numbers"),
        (("metadata", "lid_scores"), [True], "metadata.lid_scores: expected a list of numbers"),
        (
            ("metadata", "persona_a_categories"),
            [1],
            "metadata.persona_a_categories: expected a list of strings",
        ),
        (("persona_b",), ["ok", 7], "persona_b: expected a non-empty list of non-empty strings"),
    ]
    for (*parents, key), value, problem in cases:
        row = example_row("fr", 0)
        target = row
        for p in parents:
            target = target[p]
        target[key] = value
        assert not schema._plainly_valid(row)
        assert validate_row(row) == [problem] == _full(row)
    row = example_row("fr", 0)
    row["metadata"]["lid_scores"] = [0.5, 1]
    assert schema._plainly_valid(row) and validate_row(row) == []


def test_the_shards_language_is_checked_on_both_paths():
    row = example_row("fr", 0)
    problem = "language: expected 'zh' (the shard's folder), got 'fr'"
    assert validate_row(row, "zh") == [problem] and validate_row(row, "fr") == []
    row["metadata"]["lid_scores"] = ["x"]
    assert validate_row(row, "zh") == ["metadata.lid_scores: expected a list of numbers", problem]
