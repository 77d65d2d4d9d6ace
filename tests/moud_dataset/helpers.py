"""Helpers for the dataset-builder tests: small, varied shards made from moud_core.schema.example_row."""

from __future__ import annotations

import copy
import random
from pathlib import Path

from moud_core.jsonl import write_jsonl_atomic
from moud_core.schema import example_row, split_group_for
from moud_core.splits import DEFAULT_RATIOS, plan_splits

SAMPLE_TEXT = {
    "fr": ["Salut, tu vas bien ?", "Oui, je reviens du marché.", "J'adore cuisiner le dimanche."],
    "zh": ["你好，最近怎么样？", "我刚从市场回来。", "我周末喜欢做饭。"],
    "ar": ["مرحبا، كيف حالك؟", "عدت للتو من السوق.", "أحب الطبخ في عطلة نهاية الأسبوع."],
    "hi": ["नमस्ते, आप कैसे हैं?", "मैं अभी बाज़ार से लौटा हूँ।", "मुझे सप्ताहांत में खाना बनाना पसंद है।"],
}
EVENTS = ["small_talk", "making_plans", "asking_for_advice"]


def make_row(language: str, index: int, pair: int, rng: random.Random) -> dict:
    """A valid row; rows with the same ``pair`` share personas (hence split_group)."""
    texts = SAMPLE_TEXT[language]
    n_turns = rng.randint(2, 6)
    turns = [("AB"[i % 2], f"{texts[(index + i) % len(texts)]} ({index}.{i})") for i in range(n_turns)]
    row = example_row(language, index, turns=turns)
    row["persona_a"] = [f"{texts[0]} #{pair}a", f"{texts[2]} {pair}"]
    row["persona_b"] = [f"{texts[1]} #{pair}b"]
    row["split_group"] = split_group_for(language, row["persona_a"], row["persona_b"])
    row["speech_event"] = EVENTS[index % len(EVENTS)]
    row["common_ground"] = f"{texts[index % 3]} / {index}"
    row["metadata"]["dialogue_seed"] = index
    row["metadata"]["lid_scores"] = [round(rng.random(), 3) for _ in range(n_turns)]
    row["metadata"]["generator_model"] = "model-x" if index % 2 else "model-y"
    return row


def make_shards(
    root: Path, languages=("fr", "zh", "ar", "hi"), rows: int = 40, shards: int = 2, seed: int = 0
) -> dict[str, list[dict]]:
    """Write root/shards/<lang>/shard-NNNNN.jsonl; return {lang: rows} (ids in order)."""
    rng = random.Random(seed)
    out = {}
    for lang in languages:
        lang_rows = [make_row(lang, i, pair=i // 3, rng=rng) for i in range(rows)]
        per = -(-rows // shards)
        for k in range(shards):
            write_jsonl_atomic(
                root / "shards" / lang / f"shard-{k:05d}.jsonl", lang_rows[k * per : (k + 1) * per]
            )
        out[lang] = copy.deepcopy(lang_rows)
    return out


def write_filter_stats(run: Path, rows: dict[str, list[dict]]) -> None:
    import json

    stats = {
        "config": {},
        "languages": {
            lang: {"input": len(r) + 5, "kept": len(r), "dropped": {"lid": 3, "script": 2}}
            for lang, r in rows.items()
        },
    }
    (run / "filter_stats.json").write_text(json.dumps(stats), encoding="utf-8")


def normalize(row: dict) -> dict:
    """A shard row as the dataset returns it (schema fields only, floats for float columns)."""
    from moud_dataset.features import encode_row

    return encode_row(row)


def tree_bytes(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def isolate_hf_cache(tmp_path: Path, monkeypatch) -> Path:
    """Point HF_DATASETS_CACHE (env and the already-imported datasets.config) at a temp folder."""
    import datasets

    cache = tmp_path / "hf-datasets-cache"
    monkeypatch.setenv("HF_DATASETS_CACHE", str(cache))
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", cache)
    return cache


def split_of(
    rows: list[dict] | dict[str, list[dict]], seed: int = 0, ratios=DEFAULT_RATIOS
) -> dict[str, str]:
    """Row id -> the split the build gives it (persona groups are planned per language)."""
    by_lang = rows if isinstance(rows, dict) else {"": rows}
    out = {}
    for lang_rows in by_lang.values():
        plan = plan_splits(
            [(r["split_group"], r["persona_a"], r["persona_b"]) for r in lang_rows], seed, ratios
        )
        out.update({r["id"]: s for r, s in zip(lang_rows, plan.splits, strict=True)})
    return out
