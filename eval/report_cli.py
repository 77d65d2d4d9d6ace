"""``moud report``: aggregate judge records (and optionally dataset statistics) into one report folder."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tqdm import tqdm

from eval.aggregate import collect, iter_judgments, judgment_files
from eval.items import iter_rows, shard_files
from eval.report import judge_section, stats_section, write_report
from eval.rubric import load_rubric
from eval.stats import compute_stats
from moud_core.errors import ConfigError

EPILOG = """example:
  moud report --judgments judged/llama judged/mistral --shards filtered/ --out reports/main

writes OUT/report.md with tables and PNG plots (heatmap_<i>.png per generator model: language x
criterion; score_distribution.png; statistics plots with --shards), plus means.csv (mean, 95% bootstrap
CI and n per language x generator x item kind x criterion), win_rates.csv, failure_rates.csv,
consistency.csv, aggregate.json and stats.json.
"""


def build_parser(parser: argparse.ArgumentParser) -> None:
    parser.description = ("Aggregate LLM-judge scores: means per language x generator model x criterion with "
                          "95% bootstrap CIs, pairwise win rates, judge failure rates and consistency; optionally "
                          "dataset statistics from the shards. One markdown report with plots.")
    parser.epilog = EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--judgments", nargs="+", required=True,
                        help="judgments.jsonl files or `moud judge` output folders")
    parser.add_argument("--shards", help="also compute dataset statistics from this run/shards folder")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--rubric", help="rubric YAML the judgments used (default: eval/rubrics/default.yaml)")
    parser.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples (default 1000)")
    parser.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args) -> int:
    if args.bootstrap < 1:
        raise ConfigError(f"--bootstrap: expected an integer >= 1, got {args.bootstrap}")
    rubric = load_rubric(args.rubric)
    if args.shards:
        shard_files(args.shards)   # fail before creating anything
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    quiet = args.quiet or not sys.stderr.isatty()
    manifests = []
    for f in judgment_files(args.judgments):
        m = f.parent / "judge_manifest.json"
        if m.is_file():
            manifests.append(json.loads(m.read_text(encoding="utf-8")))
    with tqdm(unit="record", desc="judgments", disable=quiet) as bar:
        def records():
            for rec in iter_judgments(args.judgments):
                bar.update(1)
                yield rec

        items = collect(records())
    if not items.records:
        raise ConfigError(f"--judgments: no judgment records in {', '.join(args.judgments)}")
    sections = [judge_section(items, rubric, out, args.seed, args.bootstrap, manifests)]
    if args.shards:
        with tqdm(unit="row", desc="stats", disable=quiet) as bar:
            several = len({model for _, model, _ in items.records}) > 1   # compare generators side by side
            stats = compute_stats((row for _, row in iter_rows(args.shards)), bar, by_model=several)
        sections.append(stats_section(stats, out))
    path = write_report(out, sections)
    print(f"{sum(items.records.values())} judgment record(s), {len(items.scores)} scored item(s); wrote {path}")
    return 0
