"""``moud agreement``: agreement between the LLM judge and human ratings."""

from __future__ import annotations

import argparse
from pathlib import Path

from eval import plots
from eval.aggregate import collect, iter_judgments
from eval.agreement import agreement, judge_trust, judge_vs_human, read_ratings
from eval.report import json_text, md_table, write_csv
from eval.rubric import load_rubric
from moud_core.atomic import atomic_write_text
from moud_core.errors import ConfigError

EPILOG = """example:
  moud agreement --ratings human_ratings.csv --judgments judged/llama --out reports/agreement

ratings CSV columns: item_id,rater,criterion,score (e.g. fr-0000042/dialogue,r1,fluency,4); an optional
generator_model column disambiguates item ids judged for several models (`moud review export` writes
this CSV). Writes OUT/agreement.csv, OUT/agreement.json, OUT/report.md, OUT/agreement.png and
OUT/judge_vs_human.png; the report names the languages where the judge should not be trusted.
"""

COLUMNS = [("criterion", "criterion"), ("language", "language"), ("n_items_rated", "items rated"),
           ("n_items_judge_human", "n judge∩human"), ("pearson", "Pearson"), ("spearman", "Spearman"),
           ("spearman_ci", "Spearman 95% CI"), ("kappa_judge_vs_mean", "κ judge/mean"),
           ("kappa_ci", "κ 95% CI"), ("kappa_judge_vs_majority", "κ judge/majority"),
           ("n_rater_pairs", "rater pairs"), ("kappa_raters_pairwise_mean", "κ raters (mean)"),
           ("n_items_multi_rated", "n multi-rated"), ("alpha_interval", "α interval"),
           ("alpha_ordinal", "α ordinal"), ("judge_trust", "judge")]


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
    parser.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples for the CIs (default 1000)")
    parser.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    parser.add_argument("--kappa-threshold", type=float, default=0.4,
                        help="judge trusted where the whole 95%% CI of κ judge/mean is at least this (default 0.4)")
    parser.add_argument("--min-items", type=int, default=10,
                        help="fewer items scored by judge and humans give no verdict (default 10)")


def _ci(lo: float, hi: float) -> str:
    return "" if lo != lo else f"[{lo:.2f}, {hi:.2f}]"


SEVERITY = ("trusted", "too few items", "uncertain", "not trusted")   # a language's verdict: its worst


def language_verdicts(rows: list[dict]) -> dict[str, tuple[str, list[dict]]]:
    """language -> (its worst verdict over the criteria, the rows with that verdict)."""
    per_lang: dict[str, list[dict]] = {}
    for r in rows:
        if r["language"] != "all":
            per_lang.setdefault(r["language"], []).append(r)
    out = {}
    for lang, lang_rows in sorted(per_lang.items()):
        worst = max((r["judge_trust"] for r in lang_rows), key=SEVERITY.index)
        out[lang] = (worst, [r for r in lang_rows if r["judge_trust"] == worst])
    return out


def trust_section(verdicts: dict[str, tuple[str, list[dict]]], kappa_min: float) -> str:
    """Markdown naming the languages under each verdict and the criteria behind it."""
    lines = ["## Where the judge can stand in for native speakers", "",
             f"Per language and criterion: **trusted** when the whole 95% bootstrap CI of κ (judge vs mean human) "
             f"is at least {kappa_min}, **not trusted** when κ itself is below {kappa_min}, **uncertain** in "
             "between (more ratings would decide). A language takes its worst criterion's verdict.", ""]
    for verdict in reversed(SEVERITY):
        named = [(lang, crit_rows) for lang, (v, crit_rows) in verdicts.items() if v == verdict]
        for lang, crit_rows in named:
            details = ", ".join(f"{r['criterion']} (κ {r['kappa_judge_vs_mean']:.2f} "
                                f"{_ci(r['kappa_ci_low'], r['kappa_ci_high'])}, n={r['n_items_judge_human']})"
                                for r in crit_rows)
            lines.append(f"- **{verdict}: {lang}** — {details}")
    return "\n".join(lines) + "\n"


def run(args) -> int:
    if args.bootstrap < 1 or args.min_items < 1:
        raise ConfigError("--bootstrap and --min-items: expected integers >= 1")
    rubric = load_rubric(args.rubric)
    items = collect(iter_judgments(args.judgments))
    ratings = read_ratings(args.ratings, items, rubric)
    rows = agreement(ratings, items, args.seed, args.bootstrap)
    for r in rows:
        r["judge_trust"] = judge_trust(r, args.kappa_threshold, args.min_items)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    write_csv(out / "agreement.csv", rows)
    atomic_write_text(out / "agreement.json", json_text(rows))
    overall = [r for r in rows if r["language"] == "all"]
    plots.bars({r["criterion"]: {"Spearman (judge)": r["spearman"], "κ judge/mean": r["kappa_judge_vs_mean"],
                                 "α interval (humans)": r["alpha_interval"]} for r in overall},
               "Agreement (all languages)", "coefficient", out / "agreement.png")
    verdicts = language_verdicts(rows)
    plots.judge_vs_human(judge_vs_human(ratings, items), out / "judge_vs_human.png", args.seed)
    shown = [{**r, "spearman_ci": _ci(r["spearman_ci_low"], r["spearman_ci_high"]),
              "kappa_ci": _ci(r["kappa_ci_low"], r["kappa_ci_high"])} for r in rows]
    text = ("# Judge–human agreement\n\n"
            f"{len(ratings)} rating(s) by {len({r.rater for r in ratings})} rater(s) on "
            f"{len({r.key for r in ratings})} item(s). κ: quadratically weighted Cohen's kappa; judge scores are "
            "the mean of the judge's successful repeats (rounded half up for κ).\n\n"
            + trust_section(verdicts, args.kappa_threshold) + "\n"
            + md_table([c[1] for c in COLUMNS], [[r[c[0]] for c in COLUMNS] for r in shown])
            + "\n\n![Agreement](agreement.png)\n\n![Judge against humans per language](judge_vs_human.png)\n")
    atomic_write_text(out / "report.md", text)
    print(f"agreement on {len(overall)} criterion/criteria over {len({r.key for r in ratings})} item(s); "
          f"wrote {out / 'report.md'}")
    untrusted = [lang for lang, (v, _) in verdicts.items() if v == "not trusted"]
    if untrusted:
        print(f"judge not trusted for: {', '.join(untrusted)} (see the report)")
    return 0
