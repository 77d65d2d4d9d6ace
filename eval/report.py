"""``moud report`` and ``moud stats`` as functions: read and check every input first, then write the report
folder in one step (``moud_core.outdir.replace_outputs``: files of an earlier report there are replaced,
stale plots removed, anything else kept)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from tqdm import tqdm

from eval.aggregate import ItemScores, collect, iter_judgments, judgment_files
from eval.items import iter_rows, shard_files
from eval.persona_collapse import xpersona_collapse
from eval.report_stats import stats_section
from eval.report_writer import REPORT_FILES, judge_section, write_report
from eval.rubric import Rubric
from eval.stats import compute_stats
from moud_core.errors import MoudError
from moud_core.jsonl import read_json
from moud_core.outdir import prepare_out_dir, replace_outputs

MANIFEST_FILE = "judge_manifest.json"


def judge_manifests(paths: Iterable[str | Path]) -> list[dict]:
    """The ``judge_manifest.json`` beside each judgments file (where there is one)."""
    out = []
    for f in judgment_files(paths):
        m = f.parent / MANIFEST_FILE
        if not m.is_file():
            continue
        data = read_json(m, "a judge manifest (JSON)")
        if not isinstance(data, dict) or not isinstance(data.get("config", {}), dict):
            raise MoudError(f"{m}: expected a judge manifest (an object with a 'config' mapping)")
        out.append(data)
    return out


def _scored_items(judgments: Sequence[str], quiet: bool) -> ItemScores:
    with tqdm(unit="record", desc="judgments", disable=quiet) as bar:

        def records():
            for rec in iter_judgments(judgments):
                bar.update(1)
                yield rec

        items = collect(records())
    where = ", ".join(map(str, judgments))
    if not items.records:
        raise MoudError(f"--judgments: no judgment records in {where}")
    if not items.scores:
        n = sum(items.records.values())
        reasons = {}
        for (_, _, reason), k in items.reasons.items():
            reasons[reason] = reasons.get(reason, 0) + k
        why = ", ".join(f"{r}: {k}" for r, k in sorted(reasons.items(), key=lambda kv: -kv[1]))
        raise MoudError(
            f"--judgments: no successful judgment to report in {where}: all {n} record(s) are "
            f"judge failures ({why}); nothing written"
        )
    return items


def _shard_stats(shards: str | Path, languages, by_model: bool, quiet: bool) -> dict:
    with tqdm(unit="row", desc="stats", disable=quiet) as bar:
        stats = compute_stats((row for _, row in iter_rows(shards, languages)), bar, by_model)
    if not stats["languages"]:
        raise MoudError(f"--shards {shards}: no rows in the shard files; nothing to report")
    return stats


def run_report(
    judgments: Sequence[str],
    out: str | Path,
    rubric: Rubric,
    shards: str | Path | None = None,
    seed: int = 0,
    n_boot: int = 1000,
    quiet: bool = False,
) -> tuple[Path, ItemScores]:
    """Aggregate judge records (and dataset statistics of ``shards``) into ``out``; returns the report
    path."""
    if shards:
        shard_files(shards)  # fail before reading everything else
    manifests = judge_manifests(judgments)
    items = _scored_items(judgments, quiet)
    stats = None
    if shards:
        several = len({model for _, model, _ in items.records}) > 1  # compare generators side by side
        stats = _shard_stats(shards, None, several, quiet)
    out = prepare_out_dir(out)
    with replace_outputs(out, REPORT_FILES) as tmp:
        sections = [judge_section(items, rubric, tmp, seed, n_boot, manifests)]
        if stats is not None:
            sections.append(stats_section(stats, tmp))
        write_report(tmp, sections)
    return out / "report.md", items


def run_stats(
    shards: str | Path,
    out: str | Path,
    languages: list[str] | None = None,
    by_model: bool = False,
    quiet: bool = False,
    xpersona: str | Path | None = None,
    xpersona_split: str = "valid",
) -> tuple[Path, dict]:
    """Dataset statistics of ``shards`` into ``out`` (report.md, stats.json, plots); with ``xpersona`` (an
    XPersona folder) the persona-collapse measures of its human personas beside them. Returns the report
    path."""
    shard_files(shards, languages)  # fail before creating anything
    if xpersona is not None and not Path(xpersona).is_dir():
        raise MoudError(f"--xpersona {xpersona}: not a folder")
    stats = _shard_stats(shards, languages, by_model, quiet)
    if xpersona is not None:
        codes = {s["language"] for s in stats["languages"].values()}
        stats["xpersona"] = xpersona_collapse(xpersona, codes, xpersona_split)
    out = prepare_out_dir(out)
    with replace_outputs(out, REPORT_FILES) as tmp:
        write_report(tmp, [stats_section(stats, tmp)], "MOUD dataset statistics")
    return out / "report.md", stats
