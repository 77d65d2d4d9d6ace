"""Acceptance probe: XPersona dialogues as MOUD rows, kept or dropped by the default gates, and the same rows
with one realistic corruption of each class (``corruptions.py``). Used by tests and
benchmarks/filters_acceptance.py."""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path

from benchmarks.corruptions import CLASSES, SHORT_CJK, Corruptor, Texts
from moud_core.schema import example_row, split_group_for
from moud_core.xpersona import xpersona_file_candidates, xpersona_prefixes

XPERSONA_LANGS = tuple(sorted(code for code in xpersona_prefixes().values() if code != "en"))


def xpersona_file(directory: Path, code: str, split: str = "valid") -> Path:
    """The XPersona file of ``code`` and ``split`` (the first candidate name when none exists)."""
    candidates = xpersona_file_candidates(directory, code, split)
    return next((p for p in candidates if p.is_file()), candidates[0])


def xpersona_rows(directory: Path, code: str, split: str = "valid") -> list[dict]:
    """Each dialogue as a row: its persona as persona A, the next dialogue's persona that shares no sentence
    with it as persona B (two different real people: XPersona gives one persona per dialogue, and PersonaChat
    reuses personas across dialogues), the [user, response] pairs as A/B turns."""
    data = json.loads(xpersona_file(directory, code, split).read_text(encoding="utf-8"))
    personas = [[s for s in item["persona"] if s.strip()] for item in data]
    rows = []
    for i, item in enumerate(data):
        turns = [(spk, text) for pair in item["dialogue"] for spk, text in zip("AB", pair, strict=False)]
        row = example_row(code, i, turns)
        persona = personas[i]
        others = (personas[(i + k) % len(personas)] for k in range(1, len(personas)))
        persona_b = next((p for p in others if p and not set(p) & set(persona)), list(persona))
        row.update(
            persona_a=persona,
            persona_b=list(persona_b),
            common_ground="",
            split_group=split_group_for(code, persona, persona_b),
            speech_event="small_talk",
        )
        rows.append(row)
    return rows


def utterances(directory: Path, code: str, min_chars: int = 20) -> list[str]:
    """Distinct utterances of one XPersona language with at least ``min_chars`` characters."""
    data = json.loads(xpersona_file(directory, code).read_text(encoding="utf-8"))
    out = [" ".join(u.split()) for item in data for pair in item["dialogue"] for u in pair]
    return list(dict.fromkeys(u for u in out if len(u) >= min_chars and u != "__SILENCE__"))


def xpersona_texts(directory: Path) -> Texts:
    """The corruption material of the XPersona files present: English utterances and persona sentences,
    and per language its utterances of at least 20 characters and (CJK) of 7-14 characters."""
    english = json.loads(xpersona_file(directory, "en").read_text(encoding="utf-8"))
    personas = list(dict.fromkeys(p for item in english for p in item["persona"] if len(p) >= 12))
    langs = [c for c in XPERSONA_LANGS if xpersona_file(directory, c).is_file()]
    short = {
        c: [u for u in utterances(directory, c, 1) if SHORT_CJK[0] <= len(u) <= SHORT_CJK[1]]
        for c in langs
        if c in ("ja", "ko", "zh")
    }
    return Texts(utterances(directory, "en"), personas, {c: utterances(directory, c) for c in langs}, short)


def _by_parity(flags: list[bool], indexes: list[int] | None = None) -> dict[str, float]:
    """Rate of True among even- and odd-indexed dialogues (two halves for a held-out check of tuning);
    ``indexes``: the dialogue index of each flag (default: its position)."""
    indexes = list(range(len(flags))) if indexes is None else indexes
    out = {}
    for half, parity in (("even", 0), ("odd", 1)):
        part = [f for f, i in zip(flags, indexes, strict=True) if i % 2 == parity]
        out[half] = sum(part) / max(1, len(part))
    return out


def measure(
    xp_dir: Path, config: str | None = None, seed: int = 0, languages=None, classes=None, misses: int = 0
) -> dict:
    """Per language: the keep rate of the real dialogues, and per corruption class (on the dialogues that
    are kept) the drop rate, the rate of drops by the right gate naming the right field, and the gates that
    dropped; ``misses`` examples of probes that were kept or dropped for the wrong reason are kept under
    ``misses``."""
    from moud_gates.pipeline import FilterPipeline

    langs = [c for c in XPERSONA_LANGS if xpersona_file(xp_dir, c).is_file()]
    todo = [c for c in langs if languages is None or c in languages]
    corruptor = Corruptor(xpersona_texts(xp_dir))
    pipe = FilterPipeline.from_config(config)
    results: dict = {}
    for code in todo:
        rows = xpersona_rows(xp_dir, code)
        human = [pipe.check(json.loads(json.dumps(r))) for r in rows]
        kept = sum(r.kept for r in human)
        res = {
            "dialogues": len(rows),
            "kept": kept,
            "keep_rate": kept / len(rows),
            "keep_rate_by_parity": _by_parity([r.kept for r in human]),
            "human_drops": dict(Counter(r.drop.gate for r in human if r.drop)),
            "human_drop_reasons": [r.drop.reason for r in human if r.drop][:misses],
            "classes": {},
        }
        for kind in classes or CLASSES:
            rng = random.Random(f"{seed}-{code}-{kind}")
            gates: Counter = Counter()
            dropped, right, bad, where = [], [], [], []
            for index, (row, clean) in enumerate(zip(rows, human, strict=True)):
                probe = corruptor.make(kind, row, rng)
                if probe is None or not clean.kept:  # only the corruption may fail the dialogue
                    continue
                drop, _, _ = pipe.check_stateless(probe.row)  # dedup state is not consulted for probes
                ok = (
                    drop is not None and drop.gate in probe.gates and drop.scores.get("field") in probe.fields
                )
                dropped.append(drop is not None)
                right.append(ok)
                where.append(index)
                if drop is not None:
                    gates[drop.gate] += 1
                if not ok and len(bad) < misses:
                    bad.append(
                        {
                            "fields": sorted(probe.fields),
                            "drop": drop and f"{drop.gate}: {drop.reason}",
                            "texts": [t for f in sorted(probe.fields) for t in [_field_text(probe.row, f)]],
                        }
                    )
            if dropped:
                res["classes"][kind] = {
                    "probes": len(dropped),
                    "drop_rate": sum(dropped) / len(dropped),
                    "right_rate": sum(right) / len(right),
                    "drop_rate_by_parity": _by_parity(dropped, where),
                    "right_rate_by_parity": _by_parity(right, where),
                    "by_gate": dict(gates),
                    "misses": bad,
                }
        results[code] = res
    return results


def _field_text(row: dict, field: str) -> str:
    name, _, index = field.partition("[")
    return row[name][int(index[:-1])]["text"] if name == "turns" else row[name][int(index[:-1])]
