"""The experiment's in-process steps (stages without a ``moud`` command): carving an XPersona train/test pair
from the one split a folder has, and writing the results table and the experiment card."""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

from moud_core.atomic import atomic_write_text
from moud_core.xpersona import xpersona_file, xpersona_file_candidates, xpersona_languages
from moud_experiment.baseline_stages import xpersona_folder
from moud_experiment.card import write_card
from moud_experiment.results import collect, write_results


def _persona_key(persona: list[str]) -> str:
    """Dialogues of one persona (same sentences, any order, case and spacing) share a key: no persona is
    in both halves."""
    return "\n".join(sorted(" ".join(s.lower().split()) for s in persona))


def carve_xpersona(src: Path, dst: Path, split: str, hold_out: float, seed: int, languages) -> dict:
    """Write XPersona ``train`` and ``test`` files into ``dst`` from ``src``'s ``split``: the personas are
    ranked by a seeded hash and the first ``ceil(hold_out x personas)`` go to test (at least one, and at least
    one left for train), so no persona is in both. Returns {language: {"train": n, "test": n}} (dialogues)."""
    counts = {}
    for lang in [lg for lg in languages if lg in xpersona_languages(src, split)]:
        dialogues = json.loads(xpersona_file(src, lang, split).read_text(encoding="utf-8"))
        keys = sorted(
            {_persona_key(d["persona"]) for d in dialogues},
            key=lambda k: hashlib.sha256(f"{seed}\x1f{k}".encode()).digest(),
        )
        n_test = min(max(1, math.ceil(hold_out * len(keys))), len(keys) - 1) if len(keys) > 1 else 0
        test_keys = set(keys[:n_test])
        halves: dict[str, list] = {"train": [], "test": []}
        for d in dialogues:
            halves["test" if _persona_key(d["persona"]) in test_keys else "train"].append(d)
        for part, items in halves.items():
            atomic_write_text(
                xpersona_file_candidates(dst, lang, part)[0], json.dumps(items, ensure_ascii=False)
            )
        counts[lang] = {part: len(items) for part, items in halves.items()}
    return counts


def step_xpersona(recipe, out: Path, stage, stages, result) -> None:
    b = recipe.baselines
    stage.out.mkdir(parents=True, exist_ok=True)
    counts = carve_xpersona(
        Path(recipe.resolve(b.xpersona.path)),
        stage.out,
        b.xpersona.test_split,
        b.xpersona.hold_out,
        recipe.seed,
        b.languages or recipe.languages,
    )
    note = {
        "source": recipe.resolve(b.xpersona.path),
        "split": b.xpersona.test_split,
        "hold_out": b.xpersona.hold_out,
        "dialogues": counts,
        "note": "train and test carved from one XPersona split by persona (no persona in both)",
    }
    atomic_write_text(stage.out / "carved.json", json.dumps(note, indent=2, ensure_ascii=False) + "\n")


def step_results(recipe, out: Path, stage, stages, result) -> None:
    missing = {
        s.name.removeprefix("train-"): s.skip_reason for s in stages if s.skip_reason and s.command == "train"
    }
    if recipe.baselines is not None and "xpersona" in recipe.baselines.tests:
        folder, why = xpersona_folder(recipe, out)  # the stages' own answer: no test set without a folder
        if folder is None:
            missing["xpersona (test set)"] = why
    records, evaluation = collect(out / "eval", missing)
    stage.out.mkdir(parents=True, exist_ok=True)
    conventions_file = out / "eval" / "matrix.json"
    extra = {"recipe": str(recipe.path), "seed": recipe.seed, **evaluation}
    if conventions_file.is_file():
        extra["evaluation"] = json.loads(conventions_file.read_text(encoding="utf-8")).get("options", {})
    write_results(out, records, extra)
    write_card(recipe, out, stages, result.stages)
    atomic_write_text(stage.out / "done.json", json.dumps({"records": len(records)}) + "\n")


STEPS = {"xpersona": step_xpersona, "results": step_results}
