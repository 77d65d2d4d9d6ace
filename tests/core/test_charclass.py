"""The short-text counter (``moud_core.shortcount``, used by ``count_texts`` for one generated turn) gives
exactly the counts of the numpy batch path, on real, scripted and random texts of every kind of script."""

from __future__ import annotations

import json

import pytest

from moud_core import charclass
from moud_core.charclass import _count_batch, class_table, count_texts
from moud_core.shortcount import _MAPPED_MAX_CHARS, short_counter
from tests.core.helpers import random_mixed_texts

# (expected Unicode scripts, required, forbidden): the kinds of settings of the script gate's registry scripts
SETTINGS = [
    ((), (), ()),  # letters only (the LID gate's letter counts)
    (("Latin",), (), ()),
    (("Latin",), ("Latin",), ("Han", "Cyrillic")),
    (("Arabic",), (), ()),
    (("Han", "Hiragana", "Katakana"), ("Hiragana", "Katakana"), ()),  # Japanese: kana required
    (("Han",), (), ("Hiragana", "Katakana")),  # Chinese: kana forbidden
    (("Hangul",), ("Hangul",), ()),
    (("Thai",), (), ("Latin",)),
    (("Devanagari",), (), ()),
    (("Cyrillic",), ("Cyrillic",), ("Latin",)),
]
IDS = ["-".join("+".join(part) or "none" for part in s) for s in SETTINGS]


def assert_same_counts(texts: list[str], setting) -> None:
    table = class_table(*setting)
    expected = _count_batch(texts, table)
    count = short_counter(table)
    wrong = [(t, c, e) for t, e in zip(texts, expected, strict=True) if (c := count(t)) != e]
    assert not wrong, wrong[:3]


def _path(text: str) -> str:
    if text.isascii():
        return "ascii"
    if len(text) <= _MAPPED_MAX_CHARS:
        return "mapped"
    return "latin1" if max(text) <= "\xff" else "gather"


def test_random_texts_cover_every_input_path():
    texts = random_mixed_texts(3000, seed=1)
    paths = {p: sum(_path(t) == p for t in texts) for p in ("ascii", "mapped", "latin1", "gather")}
    assert min(paths.values()) >= 50, paths


@pytest.mark.parametrize("setting", SETTINGS, ids=IDS)
def test_short_counter_matches_numpy_on_random_mixed_scripts(setting):
    assert_same_counts(random_mixed_texts(3000, seed=7), setting)


@pytest.mark.parametrize("setting", SETTINGS, ids=IDS)
def test_short_counter_matches_numpy_on_the_scripted_crowdworker_bank(setting):
    from generation.testing.crowdworker import BANK

    texts = [t for lang in BANK.values() for kind in lang.values() for t in kind if isinstance(t, str)]
    assert len(texts) > 100
    assert_same_counts(texts + [" ".join(texts[i : i + 9]) for i in range(0, len(texts), 9)], setting)


@pytest.mark.parametrize("setting", SETTINGS, ids=IDS)
def test_short_counter_matches_numpy_on_xpersona(xpersona_dir, setting):
    texts = []
    for path in sorted(xpersona_dir.glob("*.json")):
        for dialogue in json.loads(path.read_text(encoding="utf-8")):
            texts += dialogue["persona"] + [u for pair in dialogue["dialogue"] for u in pair]
    assert len(texts) > 10000
    assert_same_counts(list(dict.fromkeys(texts)), setting)


def test_count_texts_takes_the_short_path_for_a_few_short_texts_only(monkeypatch):
    table = class_table(("Latin",), (), ("Han",))
    texts = random_mixed_texts(40, seed=3)
    expected = _count_batch(texts, table)

    def no_numpy(*_args):
        raise AssertionError("numpy path used")

    monkeypatch.setattr(charclass, "_count_batch", no_numpy)
    assert count_texts(texts[:1], table) == expected[:1]
    assert count_texts(texts[:3], table) == expected[:3]
    monkeypatch.undo()
    monkeypatch.setattr(charclass, "short_counter", no_numpy)
    assert count_texts(texts, table) == expected  # many texts: one numpy pass
    assert count_texts(["x" * 5000], table) == [(1, 0, 5000, 0, 0)]  # a long text: numpy too


def test_counts_of_known_texts():
    """Hand-checked counts: CHARSEG letters are a token each, other letters make runs, marks and neutral
    letters (ー) are not letters of another script."""
    japanese = class_table(("Han", "Hiragana", "Katakana"), ("Hiragana", "Katakana"), ())
    count = short_counter(japanese)
    assert count("東京タワーへ行くOK") == (7, 1, 10, 4, 0)  # 東京タワへ行く: 7 tokens; OK: 1 run; ー neutral
    latin = class_table(("Latin",), (), ("Han",))
    assert short_counter(latin)("Café au lait 和 テ, ok") == (4, 2, 14, 0, 1)
    assert short_counter(class_table())("é\u0301 x1 😀") == (0, 0, 2, 0, 0)
