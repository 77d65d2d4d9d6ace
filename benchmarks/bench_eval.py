"""Throughput of the evaluation stage on synthetic multilingual shards (no GPU, no network).

- ``moud stats`` core: rows/s streaming shards (script-aware tokens, distinct-1/2, LID histogram).
- judge: items/s against a loopback FakeOpenAIServer answering valid JSON instantly, for batch sizes
  1 and 4 (measures the client side: prompt building, parsing, HTTP; not a real model).
- aggregation: seconds for means with 1000 bootstrap resamples, win rates and consistency.

    python benchmarks/bench_eval.py --rows 2000 --judge-rows 300 --out bench_eval.json
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import random
import re
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from eval.aggregate import collect, consistency, means, win_rates  # noqa: E402
from eval.items import iter_items, iter_rows  # noqa: E402
from eval.judge_batches import Judge, JudgeConfig  # noqa: E402
from eval.rubric import load_rubric  # noqa: E402
from eval.stats import compute_stats  # noqa: E402
from generation.testing.fake_openai import FakeOpenAIServer  # noqa: E402
from moud_core.atomic import atomic_write_text
from moud_core.backends.factory import make_backend  # noqa: E402
from moud_core.jsonl import write_jsonl_atomic  # noqa: E402
from moud_core.schema import example_row, make_row_id  # noqa: E402

VOCAB = {
    "fr": (
        "le la chat chien marché samedi boulangerie vélo Lyon pain fromage aimer aller voir ami travail"
    ).split(),
    "de": (
        "der die Katze Hund Markt Samstag Bäckerei Fahrrad Hamburg Brot Käse lieben gehen sehen Freund"
    ).split(),
    "zh": list("我你他喜欢吃火锅喝茶成都老师学校周末爬山自行车朋友工作"),
    "ja": list("私あなた大阪東京好きたこ焼き猫犬学校週末山友達仕事です"),
}


def synth_rows(lang: str, n: int, models: list[str], rng: random.Random):
    sep = "" if lang in ("zh", "ja") else " "
    for i in range(n):
        turns = [
            ("AB"[t % 2], sep.join(rng.choices(VOCAB[lang], k=rng.randint(5, 25))))
            for t in range(rng.randint(6, 14))
        ]
        row = copy.deepcopy(example_row(lang, i, turns))
        row["id"] = make_row_id(lang, i)
        row["metadata"]["generator_model"] = models[i % len(models)]
        row["metadata"]["lid_scores"] = [round(rng.betavariate(8, 1), 3) for _ in turns]
        yield row


def responder(body: dict) -> str:
    user = body["messages"][-1]["content"]
    ids = re.findall(r"### Item id: (\S+)", user)
    crit = re.findall(r'"(\w+)": <1-5>', user)
    rng = random.Random(body.get("seed", 0))
    return json.dumps(
        {"items": [{"id": i, "scores": {c: rng.randint(1, 5) for c in crit}, "rationale": "ok"} for i in ids]}
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=2000, help="rows per language for the statistics benchmark")
    ap.add_argument("--judge-rows", type=int, default=300, help="rows (x4 items) judged per batch size")
    ap.add_argument("--out", default="runs/bench_eval.json", help="results JSON (default %(default)s)")
    args = ap.parse_args()
    rng = random.Random(0)
    results: dict = {
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
        }
    }
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for lang in VOCAB:
            write_jsonl_atomic(
                root / "shards" / lang / "shard-00000.jsonl",
                synth_rows(lang, args.rows, ["model-a", "model-b"], rng),
            )
        t0 = time.perf_counter()
        stats = compute_stats(row for _, row in iter_rows(root))
        dt = time.perf_counter() - t0
        n = sum(s["dialogues"] for s in stats["languages"].values())
        results["stats"] = {"rows": n, "seconds": round(dt, 3), "rows_per_s": round(n / dt, 1)}

        rubric = load_rubric()
        results["judge"] = []
        records = []
        with FakeOpenAIServer(responder, log_requests=False, max_seconds=600) as server:
            for batch_size in (1, 4):
                backend = make_backend("openai", server.model, base_url=server.base_url, max_concurrency=32)
                judge = Judge(backend, JudgeConfig(server.model, rubric, batch_size=batch_size, repeats=1))
                items = list(iter_items(root, max_rows_per_language=args.judge_rows // len(VOCAB)))
                before = server.count
                t0 = time.perf_counter()
                recs = judge.judge(items)
                dt = time.perf_counter() - t0
                records = recs
                results["judge"].append(
                    {
                        "batch_size": batch_size,
                        "items": len(recs),
                        "requests": server.count - before,
                        "seconds": round(dt, 3),
                        "items_per_s": round(len(recs) / dt, 1),
                        "ok": sum(r["status"] == "ok" for r in recs),
                    }
                )
        t0 = time.perf_counter()
        agg = collect(records)
        rows = means(agg, rubric, n_boot=1000)
        win_rates(agg, rubric, rows)
        consistency(agg, rubric)
        results["aggregate"] = {
            "records": len(records),
            "cells": len(rows),
            "seconds": round(time.perf_counter() - t0, 3),
        }
    print(json.dumps(results, indent=2))
    atomic_write_text(args.out, json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
