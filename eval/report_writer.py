"""Markdown reports written to one folder: table, CSV and JSON helpers, the LLM-judge section (means,
heat maps, win rates, failures, consistency) and report.md; the statistics section is in
``eval/report_stats.py``."""

from __future__ import annotations

import csv
import io
import json
import math
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from eval import aggregate, plots
from eval.rubric import LEVELS, Rubric
from moud_core.atomic import atomic_write_text

# Every file a report folder can hold (glob patterns): replaced as a whole by the next report in the folder.
REPORT_FILES = (
    "report.md",
    "means.csv",
    "win_rates.csv",
    "failure_rates.csv",
    "consistency.csv",
    "aggregate.json",
    "stats.json",
    "heatmap_*.png",
    "score_distribution.png",
    "lid_confidence.png",
    "turn_lengths.png",
    "distinct_n.png",
    "coverage.png",
    "persona_collapse.png",
)


def fmt(value, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def md_table(header: Sequence[str], rows: Sequence[Sequence]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(fmt(v) for v in r) + " |" for r in rows]
    return "\n".join(lines)


def write_csv(path: Path, rows: list[dict]) -> None:
    buf = io.StringIO()
    if rows:
        writer = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        for r in rows:
            writer.writerow({k: json.dumps(v) if isinstance(v, dict) else v for k, v in r.items()})
    atomic_write_text(path, buf.getvalue())


def json_text(obj) -> str:
    """Indented JSON of report figures, NaN written as null."""

    def clean(o):
        if isinstance(o, float) and math.isnan(o):
            return None
        if isinstance(o, dict):
            return {str(k): clean(v) for k, v in o.items()}
        if isinstance(o, (list, tuple)):
            return [clean(v) for v in o]
        return o

    return json.dumps(clean(obj), ensure_ascii=False, indent=2) + "\n"


# ---------------------------------------------------------------------------------------------- judge
def judge_section(
    items: aggregate.ItemScores,
    rubric: Rubric,
    out: Path,
    seed: int = 0,
    n_boot: int = 1000,
    manifests: Sequence[dict] = (),
) -> str:
    """Write means/win-rate/failure/consistency CSVs, heatmaps and distributions; return markdown."""
    mean_rows = aggregate.means(items, rubric, seed, n_boot)
    wins = aggregate.win_rates(items, rubric, mean_rows)
    failures = aggregate.failure_rates(items)
    consistency = aggregate.consistency(items, rubric)
    write_csv(out / "means.csv", mean_rows)
    write_csv(out / "win_rates.csv", wins)
    write_csv(out / "failure_rates.csv", failures)
    write_csv(out / "consistency.csv", consistency)
    atomic_write_text(
        out / "aggregate.json",
        json_text({"means": mean_rows, "win_rates": wins, "failures": failures, "consistency": consistency}),
    )
    parts = ["## LLM judge", ""]
    for m in manifests:
        c = m.get("config", {})
        parts.append(
            f"- judge `{c.get('judge_model')}`, rubric `{c.get('rubric_version')}`, batch size "
            f"{c.get('batch_size')}, repeats {c.get('repeats')}, seed {c.get('seed')}"
        )
    parts += [
        "",
        f"Means over items with 95% bootstrap CIs ({n_boot} resamples, seeded). Each item's score is the "
        "mean of its successful repeats; judge failures are excluded (see failure rates). "
        "`overall` averages criteria on a higher-is-better axis (toxicity as 6 − score).",
        "",
    ]
    names = [*rubric.names, aggregate.OVERALL]
    all_rows = [r for r in mean_rows if r["kind"] == aggregate.ALL_KINDS]
    models = sorted({r["generator_model"] for r in all_rows})
    langs = sorted({r["language"] for r in all_rows})
    cell = {(r["language"], r["generator_model"], r["criterion"]): r for r in all_rows}
    table = []
    for lang in langs:
        for model in models:
            if not any((lang, model, n) in cell for n in names):
                continue
            row = [lang, model]
            for n in names:
                c = cell.get((lang, model, n))
                row.append(
                    f"{c['mean']:.2f} [{c['ci_low']:.2f}, {c['ci_high']:.2f}] (n={c['n']})" if c else "–"
                )
            table.append(row)
    parts += [
        "### Mean scores (all item kinds)",
        "",
        md_table(["language", "generator", *names], table),
        "",
        "Per item kind: `means.csv`.",
        "",
    ]
    for i, model in enumerate(models):
        cols = [n if n not in rubric.names or rubric.get(n).higher_is_better else f"{n} (6−x)" for n in names]
        matrix = []
        for lang in langs:
            vals = []
            for n in names:
                c = cell.get((lang, model, n))
                vals.append(
                    None
                    if c is None
                    else (c["mean"] if n == aggregate.OVERALL else rubric.get(n).oriented(c["mean"]))
                )
            matrix.append(vals)
        name = f"heatmap_{i}.png"
        plots.heatmap(matrix, langs, cols, f"{model}: language × criterion (higher is better)", out / name)
        parts += [f"![{model} heatmap]({name})", ""]
    level_counts: dict[str, list[int]] = defaultdict(lambda: [0] * len(LEVELS))
    for reps in items.repeats.values():
        for scores in reps.values():
            for n, v in scores.items():
                level_counts[n][int(v) - LEVELS[0]] += 1
    if level_counts:
        plots.score_distributions(
            {n: level_counts[n] for n in rubric.names if n in level_counts},
            "Score distribution (all judged records)",
            out / "score_distribution.png",
        )
        parts += ["![Score distribution](score_distribution.png)", ""]
    parts += ["### Pairwise win rates", ""]
    if wins:
        parts += [
            "win rate of A = (wins + ties/2) / n; basis `items` compares the same item ids judged for both "
            "models, `languages` compares per-language means.",
            "",
            md_table(
                ["model A", "model B", "criterion", "basis", "n", "A wins", "ties", "B wins", "win rate A"],
                [
                    [
                        w["model_a"],
                        w["model_b"],
                        w["criterion"],
                        w["basis"],
                        w["n"],
                        w["wins_a"],
                        w["ties"],
                        w["wins_b"],
                        w["win_rate_a"],
                    ]
                    for w in wins
                ],
            ),
            "",
        ]
    else:
        parts += ["Only one generator model: no pairwise comparison.", ""]
    parts += [
        "### Judge failures",
        "",
        "Unparsable, refused or out-of-range answers after all attempts; never counted as scores.",
        "",
        md_table(
            ["language", "generator", "records", "failed", "failure rate", "reasons"],
            [
                [
                    f["language"],
                    f["generator_model"],
                    f["records"],
                    f["failed"],
                    f["failure_rate"],
                    ", ".join(f"{k}: {v}" for k, v in f["reasons"].items()) or "–",
                ]
                for f in failures
            ],
        ),
        "",
    ]
    if consistency:
        parts += [
            "### Judge consistency across repeats",
            "",
            md_table(
                [
                    "repeat",
                    "position-swapped",
                    "criterion",
                    "n",
                    "exact agreement",
                    "mean abs diff",
                    "quadratic κ",
                ],
                [
                    [
                        c["repeat"],
                        "yes" if c["swapped"] else "no",
                        c["criterion"],
                        c["n"],
                        c["exact_agreement"],
                        c["mean_abs_diff"],
                        c["kappa_quadratic"],
                    ]
                    for c in consistency
                ],
            ),
            "",
        ]
    return "\n".join(parts)


def write_report(out: Path, sections: Sequence[str], title: str = "MOUD evaluation report") -> Path:
    path = out / "report.md"
    atomic_write_text(path, f"# {title}\n\n" + "\n".join(sections))
    return path
