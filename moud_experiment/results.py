"""The experiment's results table: ``DIR/results.json`` (one record per model x test set x language x metric,
with the candidate count and the number of instances), ``DIR/results.md`` and ``DIR/results.png``.

Rows the experiment could not fill (XPersona absent, a model not trained) are written with the reason."""

from __future__ import annotations

import json
from pathlib import Path

from moud_core.atomic import atomic_open, atomic_write_text

METRICS = {  # name in the evaluation's results -> (label, higher is better, natural range or None)
    "hits@1": ("hits@1", True, (0.0, 1.0)),
    "ppl": ("perplexity", False, None),
    "bpb": ("bits/byte", False, None),
    "rouge_l": ("ROUGE-L", True, (0.0, 1.0)),
    "bertscore_f1": ("BERTScore F1", True, (0.0, 1.0)),
}
COUNTS = ("turns", "instances", "n")  # how many instances a language's figures are over


def collect(eval_dir: Path, missing: dict[str, str]) -> tuple[list[dict], dict]:
    """Records from ``eval_dir/matrix.json``, and its conventions and metrics not computed; ``missing``:
    model or test set name -> why it has no rows."""
    records: list[dict] = []
    matrix = eval_dir / "matrix.json"
    doc = json.loads(matrix.read_text(encoding="utf-8")) if matrix.is_file() else {}
    for model, tests in doc.get("results", {}).items():
        for test, languages in tests.items():
            for lang, res in languages.items():
                where = {"model": model, "test": test, "language": lang}
                if res.get("evaluated") is False:
                    records.append({**where, "metric": None, "value": None, "note": res.get("reason", "?")})
                    continue
                n = next((res[k] for k in COUNTS if isinstance(res.get(k), int)), None)
                for key, value in res.items():
                    if key not in METRICS:
                        continue
                    rec = {**where, "metric": key, "value": value, "candidates": res.get("candidates")}
                    rec["instances"] = n
                    if not isinstance(value, (int, float)):
                        rec["value"], rec["note"] = None, str(value)
                    records.append(rec)
    for name, why in missing.items():
        records.append(
            {"model": name, "test": None, "language": None, "metric": None, "value": None, "note": why}
        )
    extra = {k: doc[k] for k in ("conventions", "not_computed", "note") if doc.get(k)}
    return records, extra


def _fmt(value) -> str:
    return "—" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)


def markdown(records: list[dict], extra: dict | None = None) -> str:
    """One table per metric: rows = trained model, columns = test set / language, each cell with n."""
    out = ["# Results", ""]
    for key, (label, higher, _) in METRICS.items():
        rows = [r for r in records if r["metric"] == key]
        if not rows:
            continue
        cols = sorted({(r["test"], r["language"]) for r in rows})
        models = list(dict.fromkeys(r["model"] for r in rows))
        arrow = "higher is better" if higher else "lower is better"
        out += [f"## {label} ({arrow})", ""]
        if key == "hits@1":
            cands = sorted({r["candidates"] for r in rows if r.get("candidates")})
            chance = ", ".join(f"1/{c} = {1 / c:.3f}" for c in cands)
            out += [
                f"Chance level: {chance or 'unknown'} (candidates per instance: {cands or 'unknown'}).",
                "",
            ]
        out.append("| trained on | " + " | ".join(f"{t} / {lang}" for t, lang in cols) + " |")
        out.append("|---|" + "---|" * len(cols))
        for m in models:
            cells = []
            for col in cols:
                r = next((r for r in rows if r["model"] == m and (r["test"], r["language"]) == col), None)
                cells.append("" if r is None else f"{_fmt(r['value'])} (n={r.get('instances') or '?'})")
            out.append(f"| {m} | " + " | ".join(cells) + " |")
        out.append("")
    notes = [r for r in records if r["metric"] is None or r.get("note")]
    extra = extra or {}
    for metric, why in (extra.get("not_computed") or {}).items():
        notes.append({"model": metric, "note": why if isinstance(why, str) else json.dumps(why)})
    if notes:
        out += ["## Not computed", ""]
        for r in notes:
            where = " / ".join(str(r[k]) for k in ("model", "test", "language") if r.get(k))
            out.append(f"- {where}: {r['note']}")
        out.append("")
    if extra.get("conventions"):
        out += ["## Conventions", ""]
        conv = extra["conventions"]
        out += [f"- {k}: {v}" for k, v in conv.items()] if isinstance(conv, dict) else [str(conv)]
        out.append("")
    return "\n".join(out)


def chart(records: list[dict], path: Path) -> bool:
    """hits@1 per model and test/language on a fixed [0, 1] axis, chance level drawn; False if none."""
    rows = [r for r in records if r["metric"] == "hits@1" and isinstance(r["value"], (int, float))]
    if not rows:
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = sorted({(r["test"], r["language"]) for r in rows})
    models = list(dict.fromkeys(r["model"] for r in rows))
    width = 0.8 / len(models)
    fig, ax = plt.subplots(figsize=(max(6, 1.2 * len(cols) + 2), 4))
    for k, m in enumerate(models):
        xs, ys = [], []
        for i, col in enumerate(cols):
            r = next((r for r in rows if r["model"] == m and (r["test"], r["language"]) == col), None)
            if r is not None:
                xs.append(i + k * width - 0.4 + width / 2)
                ys.append(r["value"])
                ax.annotate(
                    f"n={r.get('instances') or '?'}", (xs[-1], ys[-1]), ha="center", va="bottom", fontsize=7
                )
        ax.bar(xs, ys, width, label=f"trained on {m}")
    for c in sorted({r["candidates"] for r in rows if r.get("candidates")}):
        ax.axhline(1 / c, color="grey", linestyle="--", linewidth=1, label=f"chance (1/{c})")
    ax.set_xticks(range(len(cols)), [f"{t}\n{lang}" for t, lang in cols])
    ax.set_ylim(0, 1)
    ax.set_ylabel("hits@1")
    ax.set_title("hits@1 by training data, test set and language")
    ax.legend(fontsize=8, loc="upper left")
    with atomic_open(path, "wb", encoding=None) as fh:
        fig.savefig(fh, format="png", dpi=120, bbox_inches="tight")
    plt.close(fig)
    return True


def write_results(out: Path, records: list[dict], extra: dict) -> None:
    atomic_write_text(
        out / "results.json", json.dumps({**extra, "records": records}, indent=2, ensure_ascii=False) + "\n"
    )
    atomic_write_text(out / "results.md", markdown(records, extra) + "\n")
    if not chart(records, out / "results.png"):
        (out / "results.png").unlink(missing_ok=True)
