"""The XPersona carve: train and test from one split, by persona (none in both), both halves non-empty."""

from __future__ import annotations

import json

from moud_core.xpersona import xpersona_file
from moud_experiment.steps import _persona_key, carve_xpersona
from tests.xpersona_sample import write_xpersona_sample


def test_no_persona_in_both_halves_and_neither_half_empty(tmp_path):
    src = write_xpersona_sample(tmp_path / "x")
    counts = carve_xpersona(src, tmp_path / "out", "valid", 0.5, 3, ["fr", "zh", "ja"])
    for lang, n in counts.items():
        assert n["train"] >= 1 and n["test"] >= 1
        halves = {
            part: json.loads(xpersona_file(tmp_path / "out", lang, part).read_text(encoding="utf-8"))
            for part in ("train", "test")
        }
        keys = {part: {_persona_key(d["persona"]) for d in items} for part, items in halves.items()}
        assert not keys["train"] & keys["test"]
        original = json.loads(xpersona_file(src, lang, "valid").read_text(encoding="utf-8"))
        assert len(halves["train"]) + len(halves["test"]) == len(original)
    again = carve_xpersona(src, tmp_path / "again", "valid", 0.5, 3, ["fr", "zh", "ja"])
    assert again == counts  # seeded
