"""``moud report``: aggregate judge records (and optionally dataset statistics) into one report folder."""

from __future__ import annotations

import argparse
import sys

from eval.report import run_report
from eval.rubric import load_rubric
from moud_core.cli_help import describe
from moud_core.errors import ConfigError

EPILOG = """example:
  moud report --judgments runs/judged/llama runs/judged/mistral --shards runs/filtered --out runs/reports/main

writes OUT/report.md with tables and PNG plots (heatmap_<i>.png per generator model: language x
criterion; score_distribution.png; statistics plots with --shards), plus means.csv (mean, 95% bootstrap
CI and n per language x generator x item kind x criterion), win_rates.csv, failure_rates.csv,
consistency.csv, aggregate.json and stats.json. A report already in OUT is replaced as a whole.
"""


DESCRIPTION = (
    "Aggregate LLM-judge scores: means per language x generator model x criterion with "
    "95% bootstrap CIs, pairwise win rates, judge failure rates and consistency; optionally "
    "dataset statistics from the shards. One markdown report with plots."
)


def build_parser(parser: argparse.ArgumentParser) -> None:
    describe(parser, DESCRIPTION, EPILOG)
    parser.add_argument(
        "--judgments", nargs="+", required=True, help="judgments.jsonl files or `moud judge` output folders"
    )
    parser.add_argument("--shards", help="also compute dataset statistics from this run/shards folder")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument(
        "--rubric", help="rubric YAML the judgments used (default: eval/rubrics/default.yaml)"
    )
    parser.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples (default 1000)")
    parser.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args) -> int:
    if args.bootstrap < 1:
        raise ConfigError(f"--bootstrap: expected an integer >= 1, got {args.bootstrap}")
    path, items = run_report(
        args.judgments,
        args.out,
        load_rubric(args.rubric),
        args.shards,
        args.seed,
        args.bootstrap,
        quiet=args.quiet or not sys.stderr.isatty(),
    )
    print(
        f"{sum(items.records.values())} judgment record(s), {len(items.scores)} scored item(s); wrote {path}"
    )
    return 0
