"""The experiment card, ``DIR/README.md``: the recipe, library versions, seeds, data sizes and yields per
language, judge scores per language, judge-human agreement where ratings exist, the stages and the results."""

from __future__ import annotations

from collections import defaultdict
from importlib import metadata
from pathlib import Path

from moud_core.atomic import atomic_write_text
from moud_core.jsonl import iter_jsonl
from moud_experiment.stage import json_or_empty

LIBRARIES = ("moud", "torch", "transformers", "datasets", "peft", "numpy")


def _versions() -> str:
    out = []
    for name in LIBRARIES:
        try:
            out.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            out.append(f"{name} (not installed)")
    return ", ".join(out)


def _sizes(out: Path) -> list[str]:
    """Per language: dialogues made, kept by the gates, and rows per split of the built dataset."""
    made = json_or_empty(out / "generate" / "manifest.json").get("languages", {})
    kept = json_or_empty(out / "filter" / "filter_stats.json").get("languages", {})
    splits: dict[str, dict[str, int]] = defaultdict(dict)
    data = out / "build" / "data"
    if data.is_dir():
        import pyarrow.parquet as pq

        for f in sorted(data.glob("*/*.parquet")):
            split = f.name.split("-", 1)[0]
            splits[f.parent.name][split] = splits[f.parent.name].get(split, 0) + pq.read_metadata(f).num_rows
    rows = [
        "| language | made | failed | kept by the gates | train | validation | test |",
        "|---|---|---|---|---|---|---|",
    ]
    for lang in sorted(set(made) | set(kept) | set(splits)):
        m, k, s = made.get(lang, {}), kept.get(lang, {}), splits.get(lang, {})
        share = f" ({k['kept'] / k['input']:.0%})" if k.get("input") else ""
        rows.append(
            f"| {lang} | {m.get('dialogues', '—')} | {m.get('failed', '—')} | {k.get('kept', '—')}{share} | "
            f"{s.get('train', 0)} | {s.get('validation', 0)} | {s.get('test', 0)} |"
        )
    return rows


def _judge(out: Path) -> list[str]:
    path = out / "judge" / "judgments.jsonl"
    if not path.is_file():
        return ["No judge stage in this recipe."]
    sums: dict[tuple[str, str], list[float]] = defaultdict(list)
    failed: dict[str, int] = defaultdict(int)
    for _, rec in iter_jsonl(path):
        if rec.get("status") != "ok":
            failed[rec["language"]] += 1
            continue
        for crit, score in (rec.get("scores") or {}).items():
            sums[(rec["language"], crit)].append(score)
    crits = sorted({c for _, c in sums})
    langs = sorted({lang for lang, _ in sums} | set(failed))
    judge_model = next((r.get("judge_model") for _, r in iter_jsonl(path)), "?")
    rows = [
        f"Judge `{judge_model}`; mean 1-5 score per criterion (items judged), judge failures excluded.",
        "",
    ]
    rows += ["| language | " + " | ".join(crits) + " | judge failures |", "|---|" + "---|" * (len(crits) + 1)]
    for lang in langs:
        cells = [f"{sum(v) / len(v):.2f} ({len(v)})" if (v := sums.get((lang, c))) else "—" for c in crits]
        rows.append(f"| {lang} | " + " | ".join(cells) + f" | {failed.get(lang, 0)} |")
    return rows


def _agreement(out: Path) -> list[str]:
    report = out / "agreement" / "report.md"
    if report.is_file():
        return ["See [agreement/report.md](agreement/report.md)."]
    return ["No human ratings in this experiment (recipe `review.ratings`): agreement not computed."]


def write_card(recipe, out: Path, stages, records) -> None:
    """``DIR/README.md`` from what the stages wrote."""
    status = {r.name: r for r in records}
    lines = [
        f"# MOUD experiment: {recipe.name}",
        "",
        f"Recipe `{recipe.path}` (copied below); run seed {recipe.seed}, split seed {recipe.build.seed}, "
        f"split ratios {', '.join(map(str, recipe.build.split_ratios))}.",
        "",
        f"Libraries: {_versions()}.",
        "",
    ]
    if recipe.baselines is not None and recipe.baselines.base_model.startswith("tiny-"):
        lines += [
            f"**Smoke run:** the baselines use `{recipe.baselines.base_model}`, a tiny model made on the "
            "fly; "
            "its figures show that the pipeline works, not how well MOUD data helps a model.",
            "",
        ]
    lines += [
        "## Data per language",
        "",
        *_sizes(out),
        "",
        "## Judge scores per language",
        "",
        *_judge(out),
        "",
    ]
    lines += ["## Judge–human agreement", "", *_agreement(out), "", "## Stages", ""]
    lines += ["| stage | status | seconds |", "|---|---|---|"]
    for s in stages:
        r = status.get(s.name)
        what = "—" if r is None else r.status + (f": {r.reason}" if r.reason else "")
        lines.append(f"| {s.name} | {what} | {r.seconds:.1f} |" if r else f"| {s.name} | {what} | |")
    results = out / "results.md"
    if results.is_file():
        body = results.read_text(encoding="utf-8").split("\n", 1)[1]
        lines += ["", "## Results", "", "![hits@1](results.png)", "", body.replace("\n## ", "\n### ")]
    lines += ["", "## Recipe", "", "```yaml", recipe.path.read_text(encoding="utf-8").rstrip(), "```", ""]
    atomic_write_text(out / "README.md", "\n".join(lines))
