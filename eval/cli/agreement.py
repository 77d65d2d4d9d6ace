"""``moud agreement``: agreement between the LLM judge and human ratings."""

from __future__ import annotations

import argparse

from eval.rubric import load_rubric
from moud_core.cli_help import describe

EPILOG = """example:
  moud agreement --ratings human_ratings.csv --judgments runs/judged/llama --out runs/reports/agreement

ratings CSV columns: item_id,rater,criterion,score (e.g. fr-0000042/dialogue,r1,fluency,4); an optional
generator_model column disambiguates item ids judged for several models (`moud review export` writes
this CSV). Writes OUT/agreement.csv, OUT/agreement.json, OUT/report.md, OUT/agreement.png and
OUT/judge_vs_human.png; the report names the languages where the judge should not be trusted.
"""


DESCRIPTION = (
    "Compare LLM-judge scores with human ratings per criterion and language: Pearson and "
    "Spearman, quadratically weighted Cohen's kappa (judge vs humans, and between raters), "
    "Krippendorff's alpha (interval, ordinal) among raters, with item counts."
)


def build_parser(parser: argparse.ArgumentParser) -> None:
    describe(parser, DESCRIPTION, EPILOG)
    parser.add_argument("--ratings", required=True, help="human ratings CSV (item_id,rater,criterion,score)")
    parser.add_argument(
        "--judgments", nargs="+", required=True, help="judgments.jsonl files or judge folders"
    )
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--rubric", help="rubric YAML (default: eval/rubrics/default.yaml)")
    parser.add_argument(
        "--bootstrap", type=int, default=1000, help="bootstrap resamples for the CIs (default 1000)"
    )
    parser.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    parser.add_argument(
        "--kappa-threshold",
        type=float,
        default=0.4,
        help="judge trusted where the whole 95%% CI of κ judge/mean is at least this (default 0.4)",
    )
    parser.add_argument(
        "--min-items",
        type=int,
        default=10,
        help="fewer items scored by judge and humans give no verdict (default 10)",
    )


def run(args) -> int:
    from eval.agreement import run_agreement

    result = run_agreement(
        args.ratings,
        args.judgments,
        args.out,
        load_rubric(args.rubric),
        args.seed,
        args.bootstrap,
        args.kappa_threshold,
        args.min_items,
    )
    print(
        f"agreement on {result['criteria']} criterion/criteria over {result['items']} item(s); "
        f"wrote {result['report']}"
    )
    if result["untrusted"]:
        print(f"judge not trusted for: {', '.join(result['untrusted'])} (see the report)")
    return 0
