"""What ``moud evaluate`` writes: results.json / results.md / results.png / predictions.jsonl per evaluation,
and the paper-style matrix (matrix.md tables, matrix.png heat map) of train sets x test sets x languages."""

from __future__ import annotations

import json
import math
from pathlib import Path

from moud_core.atomic import atomic_open, atomic_write_text
from moud_core.jsonl import write_jsonl_atomic
from moud_core.outdir import replace_outputs

METRICS = ("hits@1", "ppl", "bpb", "rouge_l", "bertscore_f1")
METRIC_LABELS = {
    "hits@1": "hits@1",
    "ppl": "PPL",
    "bpb": "bits/byte",
    "rouge_l": "ROUGE-L",
    "bertscore_f1": "BERTScore F1",
}
RESULT_FILES = ("results.json", "results.md", "results.png", "predictions.jsonl")  # predictions: before 0.x
CANDIDATES_FILE = "candidates.jsonl"


def fmt(metric: str, v) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "—"
    if metric in ("hits@1", "rouge_l", "bertscore_f1"):
        return f"{100 * v:.2f}"
    return f"{v:.3f}" if metric == "bpb" else f"{v:.2f}"


def summary_lines(results: dict) -> list[str]:
    """One printed line per language."""
    return [
        f"{lang}: not evaluated ({r['reason']})"
        if r.get("evaluated") is False
        else f"{lang}: " + ", ".join(f"{METRIC_LABELS[m]} {fmt(m, r.get(m))}" for m in METRICS if m in r)
        for lang, r in results.items()
    ]


def _chance(r: dict) -> str:
    return fmt("hits@1", r.get("chance"))


def notes(meta: dict) -> list[str]:
    """Lines under a table: the tiny-model note and the metrics not computed, with their reasons."""
    lines = [f"**Note:** {meta['note']}."] if meta.get("note") else []
    lines += [
        f"{METRIC_LABELS.get(m, m)}: not computed ({why})" for m, why in meta.get("not_computed", {}).items()
    ]
    return lines


def results_markdown(results: dict, title: str, meta: dict | None = None) -> str:
    meta = meta or {}
    lines = [
        f"# {title}",
        "",
        "hits@1, chance level, ROUGE-L and BERTScore F1 in %; PPL per model token (end-of-reply token "
        "excluded, micro-averaged over tokens); bits/byte of the gold reply's UTF-8 bytes; candidates: "
        "per turn (fewest-most when some turns had fewer).",
        "",
        "| language | turns | candidates | chance | " + " | ".join(METRIC_LABELS[m] for m in METRICS) + " |",
        "|---|---:|---:|---:|" + "---:|" * len(METRICS),
    ]
    for lang, r in results.items():
        cands = r.get("candidates", "—")
        if r.get("candidates_max", cands) != cands:
            cands = f"{cands}-{r['candidates_max']}"
        lines.append(
            f"| {lang} | {r['turns']} | {cands} | {_chance(r)} | "
            + " | ".join(fmt(m, r.get(m)) for m in METRICS)
            + " |"
        )
    extra = [
        f"{lang}: not evaluated ({r['reason']})" for lang, r in results.items() if r.get("evaluated") is False
    ]
    extra += notes(meta)
    return "\n".join(lines + ([""] + [f"- {x}" for x in extra] if extra else [])) + "\n"


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save_png(fig, path: Path) -> None:
    with atomic_open(path, "wb") as fh:
        fig.savefig(fh, format="png", dpi=120, bbox_inches="tight")
    _pyplot().close(fig)


def results_chart(results: dict, path: Path, title: str) -> None:
    plt = _pyplot()
    langs = list(results)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(max(8, 1.6 * len(langs) + 5), 3.8))
    shown = [m for m in ("hits@1", "rouge_l", "bertscore_f1") if any(m in r for r in results.values())]
    width = 0.8 / max(len(shown), 1)
    for k, m in enumerate(shown):
        ax1.bar(
            [i + k * width for i in range(len(langs))],
            [100 * results[lg].get(m, float("nan")) for lg in langs],
            width,
            label=METRIC_LABELS[m],
        )
    ax1.set_xticks([i + width * (len(shown) - 1) / 2 for i in range(len(langs))], langs)
    ax1.set_ylabel("%")
    ax1.legend(fontsize=8, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncols=len(shown), frameon=False)
    ax2.bar(langs, [results[lg].get("bpb", float("nan")) for lg in langs], color="tab:gray")
    ax2.set_ylabel("bits per byte (lower is better)")
    fig.suptitle(title)
    fig.tight_layout()
    _save_png(fig, path)


def write_results(out: Path, results: dict, records: list[dict], meta: dict, title: str) -> None:
    """The result files of one evaluation (results.json/.md/.png and one ``<language>.jsonl`` of per-turn
    records per language), replacing those of an earlier one as a whole."""
    out.mkdir(parents=True, exist_ok=True)
    by_lang: dict[str, list[dict]] = {}
    for rec in records:
        by_lang.setdefault(rec["language"], []).append(rec)
    old = [p.name for p in out.glob("*.jsonl") if p.name != CANDIDATES_FILE]
    with replace_outputs(out, (*RESULT_FILES, *old)) as tmp:
        files = {lang: f"{lang}.jsonl" for lang in sorted(by_lang)}
        body = {**meta, "languages": results, "instance_files": files}
        atomic_write_text(tmp / "results.json", json.dumps(body, indent=2, ensure_ascii=False))
        atomic_write_text(tmp / "results.md", results_markdown(results, title, meta))
        for lang, name in files.items():
            write_jsonl_atomic(tmp / name, by_lang[lang])
        results_chart(results, tmp / "results.png", title)


def matrix_columns(table: dict) -> list[tuple[str, str]]:
    """(test set, language) columns in first-seen order: the same in matrix.md and matrix.png."""
    cols: list[tuple[str, str]] = []
    for per_test in table.values():
        for test, res in per_test.items():
            for lang in res:
                if (test, lang) not in cols:
                    cols.append((test, lang))
    return cols


def _column_stat(table: dict, test: str, lang: str, key: str):
    """A per-column figure (turns, chance level) from the first model that has the column."""
    for per_test in table.values():
        r = per_test.get(test, {}).get(lang)
        if r and r.get(key) is not None:
            return r[key]
    return None


def matrix_markdown(table: dict, notes_: list[str] = ()) -> str:
    """Paper-style: one table per metric, rows = training set, columns = test set / language; every table
    starts with the number of turns (n) of each column, the hits@1 table with the chance level."""
    cols = matrix_columns(table)
    lines = ["# Baselines: train set x test set x language", ""]
    n_row = "| *n (turns)* | " + " | ".join(str(_column_stat(table, t, lg, "turns") or "—") for t, lg in cols)
    chance_row = "| *chance* | " + " | ".join(
        fmt("hits@1", _column_stat(table, t, lg, "chance")) for t, lg in cols
    )
    for m in METRICS:
        if not any(m in table[mod].get(t, {}).get(lg, {}) for mod in table for t, lg in cols):
            continue
        lines += [
            f"## {METRIC_LABELS[m]}",
            "",
            "| train \\ test | " + " | ".join(f"{t}/{lg}" for t, lg in cols) + " |",
            "|---|" + "---:|" * len(cols),
            n_row + " |",
        ]
        if m == "hits@1":
            lines.append(chance_row + " |")
        for mod, per_test in table.items():
            lines.append(
                f"| {mod} | "
                + " | ".join(fmt(m, per_test.get(t, {}).get(lg, {}).get(m)) for t, lg in cols)
                + " |"
            )
        lines.append("")
    skipped = [
        f"{t}/{lg}: not evaluated ({r['reason']})"
        for per_test in list(table.values())[:1]
        for t, res in per_test.items()
        for lg, r in res.items()
        if r.get("evaluated") is False
    ]
    extra = skipped + list(notes_)
    return "\n".join(lines + [f"- {x}" for x in extra] + ([""] if extra else []))


def text_colour(rgba) -> str:
    """Black on light cells, white on dark ones (relative luminance, ITU-R BT.709)."""
    r, g, b = rgba[:3]
    return "black" if 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.5 else "white"


def matrix_chart(table: dict, path: Path) -> None:
    """hits@1 heat map on the metric's natural range (0-100 %, never stretched to the data), the chance
    level(s) marked on the colour bar, n and chance per column on the top axis."""
    plt = _pyplot()
    cols = matrix_columns(table)
    models = list(table)
    if not cols or not models:
        return
    grid = [
        [100 * table[m].get(t, {}).get(lg, {}).get("hits@1", float("nan")) for t, lg in cols] for m in models
    ]
    fig, ax = plt.subplots(figsize=(max(5, 0.9 * len(cols) + 2), 0.7 * len(models) + 2.2))
    im = ax.imshow(grid, cmap="viridis", aspect="auto", vmin=0, vmax=100)
    ax.set_xticks(range(len(cols)), [f"{t}/{lg}" for t, lg in cols], rotation=45, ha="right")
    ax.set_yticks(range(len(models)), models)
    chances = [_column_stat(table, t, lg, "chance") for t, lg in cols]
    top = ax.secondary_xaxis("top")
    top.set_xticks(
        range(len(cols)),
        [
            f"n={_column_stat(table, t, lg, 'turns') or '?'}\nchance {fmt('hits@1', c)}%"
            for (t, lg), c in zip(cols, chances, strict=True)
        ],
        fontsize=7,
    )
    for i, row in enumerate(grid):
        for j, v in enumerate(row):
            if not math.isnan(v):
                ax.text(
                    j,
                    i,
                    f"{v:.1f}",
                    ha="center",
                    va="center",
                    color=text_colour(im.cmap(im.norm(v))),
                    fontsize=8,
                )
    bar = fig.colorbar(im, ax=ax, label="hits@1 (%); white lines: chance level")
    for c in sorted({round(100 * c, 2) for c in chances if c is not None}):
        bar.ax.axhline(c, color="white", linewidth=1.5)
    ax.set_title("hits@1: train set (rows) x test set/language (columns)", pad=28)
    fig.tight_layout()
    _save_png(fig, path)
