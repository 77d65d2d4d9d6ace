"""``moud agreement``: agreement between the LLM judge and human ratings."""

from __future__ import annotations

import argparse
from pathlib import Path

from eval import plots
from eval.aggregate import collect, iter_judgments
from eval.agreement import agreement, read_ratings
from eval.report import json_text, md_table, write_csv
from eval.rubric import load_rubric
from moud_core.atomic import atomic_write_text

EPILOG = """example:
  moud agreement --ratings human_ratings.csv --judgments judged/llama --out reports/agreement

ratings CSV columns: item_id,rater,criterion,score (e.g. fr-0000042/dialogue,r1,fluency,4); an optional
generator_model column disambiguates item ids judged for several models. Writes OUT/agreement.csv,
OUT/agreement.json, OUT/report.md and OUT/agreement.png.
"""

COLUMNS = [("criterion", "criterion"), ("language", "language"), ("n_items_rated", "items rated"),
           ("n_items_judge_human", "n judge∩human"), ("pearson", "Pearson"), ("spearman", "Spearman"),
           ("kappa_judge_vs_mean", "κ judge/mean"), ("kappa_judge_vs_majority", "κ judge/majority"),
           ("n_rater_pairs", "rater pairs"), ("kappa_raters_pairwise_mean", "κ raters (mean)"),
           ("n_items_multi_rated", "n multi-rated"), ("alpha_interval", "α interval"),
           ("alpha_ordinal", "α ordinal")]


def build_parser(parser: argparse.ArgumentParser) -> None:
    parser.description = ("Compare LLM-judge scores with human ratings per criterion and language: Pearson and "
                          "Spearman, quadratically weighted Cohen's kappa (judge vs humans, and between raters), "
                          "Krippendorff's alpha (interval, ordinal) among raters, with item counts.")
    parser.epilog = EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--ratings", required=True, help="human ratings CSV (item_id,rater,criterion,score)")
    parser.add_argument("--judgments", nargs="+", required=True, help="judgments.jsonl files or judge folders")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--rubric", help="rubric YAML (default: eval/rubrics/default.yaml)")


def run(args) -> int:
    rubric = load_rubric(args.rubric)
    items = collect(iter_judgments(args.judgments))
    ratings = read_ratings(args.ratings, items, rubric)
    rows = agreement(ratings, items)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    write_csv(out / "agreement.csv", rows)
    atomic_write_text(out / "agreement.json", json_text(rows))
    overall = [r for r in rows if r["language"] == "all"]
    plots.bars({r["criterion"]: {"Spearman (judge)": r["spearman"], "κ judge/mean": r["kappa_judge_vs_mean"],
                                 "α interval (humans)": r["alpha_interval"]} for r in overall},
               "Agreement (all languages)", "coefficient", out / "agreement.png")
    text = ("# Judge–human agreement\n\n"
            f"{len(ratings)} rating(s) by {len({r.rater for r in ratings})} rater(s) on "
            f"{len({r.key for r in ratings})} item(s). κ: quadratically weighted Cohen's kappa; judge scores are "
            "the mean of the judge's successful repeats (rounded half up for κ).\n\n"
            + md_table([c[1] for c in COLUMNS], [[r[c[0]] for c in COLUMNS] for r in rows])
            + "\n\n![Agreement](agreement.png)\n")
    atomic_write_text(out / "report.md", text)
    print(f"agreement on {len(overall)} criterion/criteria over {len({r.key for r in ratings})} item(s); "
          f"wrote {out / 'report.md'}")
    return 0
