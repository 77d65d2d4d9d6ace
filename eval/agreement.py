"""``run_agreement``: judge–human agreement into a report folder (what `moud agreement` runs).

Per language and criterion: agreement figures with bootstrap CIs (``eval.agreement_stats``), a verdict on
whether the judge can stand in for native speakers, a table, and two plots.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from eval import plots
from eval.aggregate import collect, iter_judgments
from eval.agreement_stats import agreement, judge_trust, judge_vs_human, read_ratings
from eval.report_writer import json_text, md_table, write_csv
from eval.rubric import Rubric
from moud_core.atomic import atomic_write_text
from moud_core.errors import ConfigError
from moud_core.outdir import prepare_out_dir, replace_outputs

OUTPUTS = ("agreement.csv", "agreement.json", "agreement.png", "judge_vs_human.png", "report.md")
COLUMNS = [
    ("criterion", "criterion"),
    ("language", "language"),
    ("n_items_rated", "items rated"),
    ("n_items_judge_human", "n judge∩human"),
    ("pearson", "Pearson"),
    ("spearman", "Spearman"),
    ("spearman_ci", "Spearman 95% CI"),
    ("kappa_judge_vs_mean", "κ judge/mean"),
    ("kappa_ci", "κ 95% CI"),
    ("kappa_judge_vs_majority", "κ judge/majority"),
    ("n_rater_pairs", "rater pairs"),
    ("kappa_raters_pairwise_mean", "κ raters (mean)"),
    ("n_items_multi_rated", "n multi-rated"),
    ("alpha_interval", "α interval"),
    ("alpha_ordinal", "α ordinal"),
    ("judge_trust", "judge"),
]


def _ci(lo: float, hi: float) -> str:
    return "" if lo != lo else f"[{lo:.2f}, {hi:.2f}]"


SEVERITY = ("trusted", "too few items", "uncertain", "not trusted")  # a language's verdict: its worst


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
    lines = [
        "## Where the judge can stand in for native speakers",
        "",
        f"Per language and criterion: **trusted** when the whole 95% bootstrap CI of κ (judge vs mean human) "
        f"is at least {kappa_min}, **not trusted** when κ itself is below {kappa_min}, **uncertain** in "
        "between (more ratings would decide). A language takes its worst criterion's verdict.",
        "",
    ]
    for verdict in reversed(SEVERITY):
        named = [(lang, crit_rows) for lang, (v, crit_rows) in verdicts.items() if v == verdict]
        for lang, crit_rows in named:
            details = ", ".join(
                f"{r['criterion']} (κ {r['kappa_judge_vs_mean']:.2f} "
                f"{_ci(r['kappa_ci_low'], r['kappa_ci_high'])}, n={r['n_items_judge_human']})"
                for r in crit_rows
            )
            lines.append(f"- **{verdict}: {lang}** — {details}")
    return "\n".join(lines) + "\n"


def run_agreement(
    ratings_path: str | Path,
    judgments: Sequence[str],
    out: str | Path,
    rubric: Rubric,
    seed: int = 0,
    n_boot: int = 1000,
    kappa_threshold: float = 0.4,
    min_items: int = 10,
) -> dict:
    """Write the agreement report into ``out``; returns {"report", "criteria", "items", "untrusted"}."""
    if n_boot < 1 or min_items < 1:
        raise ConfigError("--bootstrap and --min-items: expected integers >= 1")
    items = collect(iter_judgments(judgments))
    ratings = read_ratings(ratings_path, items, rubric)
    rows = agreement(ratings, items, seed, n_boot)
    for r in rows:
        r["judge_trust"] = judge_trust(r, kappa_threshold, min_items)
    out = prepare_out_dir(out)
    overall = [r for r in rows if r["language"] == "all"]
    verdicts = language_verdicts(rows)
    with replace_outputs(out, OUTPUTS) as tmp:
        write_csv(tmp / "agreement.csv", rows)
        atomic_write_text(tmp / "agreement.json", json_text(rows))
        plots.bars(
            {
                r["criterion"]: {
                    "Spearman (judge)": r["spearman"],
                    "κ judge/mean": r["kappa_judge_vs_mean"],
                    "α interval (humans)": r["alpha_interval"],
                }
                for r in overall
            },
            "Agreement (all languages)",
            "coefficient",
            tmp / "agreement.png",
        )
        plots.judge_vs_human(judge_vs_human(ratings, items), tmp / "judge_vs_human.png", seed)
        shown = [
            {
                **r,
                "spearman_ci": _ci(r["spearman_ci_low"], r["spearman_ci_high"]),
                "kappa_ci": _ci(r["kappa_ci_low"], r["kappa_ci_high"]),
            }
            for r in rows
        ]
        text = (
            "# Judge–human agreement\n\n"
            f"{len(ratings)} rating(s) by {len({r.rater for r in ratings})} rater(s) on "
            f"{len({r.key for r in ratings})} item(s). κ: quadratically weighted Cohen's kappa; judge scores "
            "are the mean of the judge's successful repeats (rounded half up for κ).\n\n"
            + trust_section(verdicts, kappa_threshold)
            + "\n"
            + md_table([c[1] for c in COLUMNS], [[r[c[0]] for c in COLUMNS] for r in shown])
            + "\n\n![Agreement](agreement.png)\n\n![Judge against humans per language](judge_vs_human.png)\n"
        )
        atomic_write_text(tmp / "report.md", text)
    return {
        "report": out / "report.md",
        "criteria": len(overall),
        "items": len({r.key for r in ratings}),
        "untrusted": [lang for lang, (v, _) in verdicts.items() if v == "not trusted"],
    }
