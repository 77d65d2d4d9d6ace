"""Throughput of the evaluation stage on synthetic multilingual shards (no GPU, no network).

- ``moud stats`` core: rows/s streaming shards (script-aware tokens, distinct-1/2, LID histogram).
- judge: items/s against a loopback FakeOpenAIServer answering valid JSON instantly, for batch sizes
  1 and 4 (measures the client side: prompt building, parsing, HTTP; not a real model).
- aggregation: seconds for means with 1000 bootstrap resamples, win rates and consistency.

Statistics and the two judge batch sizes are interleaved over ``--rounds``; aggregation follows.

    python -m benchmarks.bench_eval --rows 2000 --judge-rows 300 [--rounds 3] [--json bench_eval.json]
"""

from __future__ import annotations

import json
import random
import re
import tempfile
import time
from pathlib import Path

from benchmarks.harness import finish, interleave, parse, parser, spread_table, summarize_configs
from eval.aggregate import collect, consistency, means, win_rates
from eval.items import iter_items, iter_rows
from eval.judge_batches import Judge, JudgeConfig
from eval.rubric import load_rubric
from eval.stats import compute_stats
from generation.testing.fake_openai import FakeOpenAIServer
from moud_core.backends.factory import make_backend
from moud_core.jsonl import write_jsonl_atomic
from moud_core.schema import example_row

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
        row = example_row(lang, i, turns)
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


def bench_stats(root: Path) -> dict:
    t0 = time.perf_counter()
    stats = compute_stats(row for _, row in iter_rows(root))
    dt = time.perf_counter() - t0
    n = sum(s["dialogues"] for s in stats["languages"].values())
    return {"rows": n, "seconds": round(dt, 3), "rows_per_s": round(n / dt, 1)}


def bench_judge(root: Path, server: FakeOpenAIServer, batch_size: int, judge_rows: int, out: list) -> dict:
    """Judge the items of ``root`` ``batch_size`` per request; the records replace ``out``'s content."""
    backend = make_backend("openai", server.model, base_url=server.base_url, max_concurrency=32)
    judge = Judge(backend, JudgeConfig(server.model, load_rubric(), batch_size=batch_size, repeats=1))
    items = list(iter_items(root, max_rows_per_language=judge_rows // len(VOCAB)))
    before = server.count
    t0 = time.perf_counter()
    recs = judge.judge(items)
    dt = time.perf_counter() - t0
    out[:] = recs
    return {
        "batch_size": batch_size,
        "items": len(recs),
        "requests": server.count - before,
        "seconds": round(dt, 3),
        "items_per_s": round(len(recs) / dt, 1),
        "ok": sum(r["status"] == "ok" for r in recs),
    }


def bench_aggregate(records: list) -> dict:
    rubric = load_rubric()
    t0 = time.perf_counter()
    agg = collect(records)
    rows = means(agg, rubric, n_boot=1000)
    win_rates(agg, rubric, rows)
    consistency(agg, rubric)
    return {"records": len(records), "cells": len(rows), "seconds": round(time.perf_counter() - t0, 3)}


def main(argv=None) -> int:
    ap = parser(__doc__)
    ap.add_argument("--rows", type=int, default=2000, help="rows per language for the statistics benchmark")
    ap.add_argument("--judge-rows", type=int, default=300, help="rows (x4 items) judged per batch size")
    args = parse(ap, argv, tiny={"rows": 10, "judge_rows": 8})
    rng = random.Random(0)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for lang in VOCAB:
            write_jsonl_atomic(
                root / "shards" / lang / "shard-00000.jsonl",
                synth_rows(lang, args.rows, ["model-a", "model-b"], rng),
            )
        records: list = []  # of the last run with 4 items per request
        with FakeOpenAIServer(responder, log_requests=False, max_seconds=600) as server:
            configs = {
                "stats": lambda: bench_stats(root),
                "judge, 1 item per request": lambda: bench_judge(root, server, 1, args.judge_rows, []),
                "judge, 4 items per request": lambda: bench_judge(root, server, 4, args.judge_rows, records),
            }
            runs = interleave(configs, args.rounds)
        runs.update(interleave({"aggregate": lambda: bench_aggregate(records)}, args.rounds))
    configs = summarize_configs(runs)
    table = spread_table(configs, ["rows_per_s", "items_per_s", "seconds"], digits=3)
    return finish(args, "bench_eval", {"configs": configs}, table)


if __name__ == "__main__":
    raise SystemExit(main())
