"""dumps_line (orjson where it agrees) gives exactly what json.dumps gives."""

from __future__ import annotations

import json
import math
import random

import pytest

from moud_core import jsonl
from moud_core.jsonl import dumps_line

POOL = [chr(c) for c in [*range(0, 0x80), 0xA0, 0xE9, 0x2028, 0x2029, 0x3000, 0x4E2D, 0xFEFF, 0x1F600]] + [
    "\\",
    '"',
]


def _random_value(rng: random.Random, depth: int = 0):
    kind = rng.randrange(9 if depth < 3 else 6)
    if kind == 0:
        return "".join(rng.choice(POOL) for _ in range(rng.randint(0, 12)))
    if kind == 1:
        return rng.choice([0, -1, 7, 2**53 + 1, 2**63 - 1, -(2**63), 2**64, 10**30])
    if kind == 2 and rng.random() < 0.5:
        return rng.random() * 10.0 ** rng.randint(-300, 300)  # every magnitude (format switches)
    if kind == 2:
        return rng.choice(
            [
                0.0,
                -0.0,
                0.1,
                1e-7,
                1.5e-5,
                1e16,
                1e22,
                123.456,
                2.5e-300,
                rng.random(),
                rng.uniform(-1e6, 1e6),
                math.inf,
                -math.inf,
                math.nan,
            ]
        )
    if kind == 3:
        return rng.choice([True, False, None])
    if kind in (4, 5):
        return round(rng.random(), 4)
    if kind in (6, 7):
        return {"".join(rng.choice(POOL) for _ in range(3)): _random_value(rng, depth + 1) for _ in range(3)}
    return [_random_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]


def reference(obj) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


@pytest.mark.parametrize("seed", range(4))
def test_dumps_line_is_json_dumps_byte_for_byte(seed):
    rng = random.Random(seed)
    for _ in range(1500):
        obj = {"v": _random_value(rng), "w": [_random_value(rng) for _ in range(3)]}
        assert dumps_line(obj) == reference(obj)


def test_works_without_orjson(monkeypatch):
    monkeypatch.setattr(jsonl, "orjson", None)
    obj = {"a": [1, 2.5, "é", None, 1e-7]}
    assert dumps_line(obj) == reference(obj)


def test_bom_is_allowed_and_errors_read_cleanly(tmp_path):
    import codecs

    import pytest

    from moud_core.jsonl import JsonlError, iter_jsonl

    path = tmp_path / "a.jsonl"
    path.write_bytes(codecs.BOM_UTF8 + b'{"a": 1}\n\n{"b": 2}\n')
    assert list(iter_jsonl(path)) == [(1, {"a": 1}), (3, {"b": 2})]
    path.write_bytes(b'{"a": 1}\n{"b": "unterminated')
    with pytest.raises(JsonlError) as err:
        list(iter_jsonl(path))
    assert str(err.value) == (
        f"{path}:2: invalid JSON at column 7 (Unterminated string): the line is cut off after 19 characters "
        "(no closing brace), as when a file is truncated"
    )
    assert " at at" not in str(err.value)
    path.write_bytes(b'{"a": 1}\n{"b": "\xff"}\n')
    with pytest.raises(JsonlError, match=r":2: not UTF-8 text"):
        list(iter_jsonl(path))
    path.write_bytes(b"[1, 2]\n")
    with pytest.raises(JsonlError, match=r":1: expected a JSON object"):
        list(iter_jsonl(path))
