"""``build_dataset``: shards -> Hub-ready Parquet dataset folder with a generated dataset card (`moud build`).

Per language (in parallel worker processes): pass 1 validates every row and indexes it
(``shards.scan_language``), pass 2 streams the rows, sorted by id, into Parquet (``writer``).
Everything is written to a temp folder beside ``--out`` and moved into place only when complete.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import re
import shutil
import sys
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from moud_core.atomic import atomic_write_text, staged_folder
from moud_core.dataset_layout import BUILD_MARKER, CARD, DATA_DIR
from moud_core.errors import ConfigError, MoudError
from moud_core.languages import Language
from moud_core.row_source import split_record
from moud_core.splits import DEFAULT_RATIOS, SPLITS
from moud_core.workers import process_pool
from moud_dataset.card import MARKER, load_filter_stats, render_card
from moud_dataset.shards import language_files, open_shards, scan_language

DEFAULT_ROWS_PER_FILE = 100_000
DEFAULT_ROW_GROUP_ROWS = 1_000


@dataclass
class BuildOptions:
    shards: Path
    out: Path | None = None  # None: validate only (--check)
    languages: str | list[str] | None = None
    ratios: tuple[float, float, float] = DEFAULT_RATIOS
    seed: int = 0
    license: str = "cc-by-4.0"
    rows_per_file: int = DEFAULT_ROWS_PER_FILE
    row_group_rows: int = DEFAULT_ROW_GROUP_ROWS
    workers: int = 0  # 0: one per CPU core (at most one per language)
    progress: bool = False
    registry: dict[str, Language] | None = None


@dataclass
class BuildResult:
    summaries: list[dict]
    errors: list[str] = field(default_factory=list)
    out: Path | None = None


class ShardErrors(MoudError):
    """Bad rows in the shards; ``errors`` lists every one as 'file:line: field: problem' (sorted)."""

    def __init__(self, errors: list[str]):
        more = (
            f" (and {len(errors) - 1} more problem(s): `moud build --check` lists them all)"
            if len(errors) > 1
            else ""
        )
        super().__init__(f"{errors[0]}{more}; nothing written")
        self.errors = errors


def _process_language(job: tuple) -> dict:
    """Worker: validate one language and, when out_dir is given and the rows are valid, write it."""
    lang, files, seed, ratios, lang_dir, rows_per_file, row_group_rows = job
    scan = scan_language(lang, files, seed, ratios)
    summary = {
        "language": lang,
        "errors": scan.errors,
        "speech_events": dict(scan.speech_events),
        "generator_models": dict(scan.generator_models),
        "prompt_versions": dict(scan.prompt_versions),
        "split_notes": scan.split_notes,
        "persona_collapse": scan.collapse.summary(top=1),
        "splits": {
            s: {
                "dialogues": len(scan.index[s]),
                "turns": scan.turns[s],
                "groups": len(scan.split_groups[s]),
                "num_bytes": 0,
                "download_bytes": 0,
                "files": [],
            }
            for s in SPLITS
        },
    }
    if lang_dir is not None and not scan.errors:
        from moud_dataset.writer import write_language

        for split, st in write_language(scan, Path(lang_dir), rows_per_file, row_group_rows).items():
            summary["splits"][split].update(st)
    return summary


def _error_key(message: str):
    m = re.match(r"(.*?):(\d+): ", message)
    return (m.group(1), int(m.group(2)), message) if m else (message, 0, message)


def _run_languages(opts: BuildOptions, found: dict[str, list[Path]], data_dir: Path | None) -> list[dict]:
    jobs = [
        (
            lang,
            files,
            opts.seed,
            opts.ratios,
            str(data_dir / lang) if data_dir else None,
            opts.rows_per_file,
            opts.row_group_rows,
        )
        for lang, files in found.items()
    ]
    # Biggest languages first so the pool stays busy to the end.
    jobs.sort(key=lambda j: -sum(os.path.getsize(f) for f in j[1]))
    workers = min(len(jobs), opts.workers or os.cpu_count() or 1)
    bar = tqdm(total=len(jobs), desc="languages", unit="lang", disable=not opts.progress)
    summaries = []
    try:
        if workers <= 1:
            for job in jobs:
                summaries.append(_process_language(job))
                bar.update()
        else:
            # a worker that dies raises BrokenProcessPool instead of hanging; interrupts kill the workers
            with process_pool(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
                try:
                    for summary in pool.map(_process_language, jobs):
                        summaries.append(summary)
                        bar.update()
                except BrokenProcessPool as exc:
                    raise MoudError(
                        f"a build worker process died ({exc}); re-run with --workers 1 to see why"
                    ) from None
    finally:
        bar.close()
    return sorted(summaries, key=lambda s: s["language"])


def check_shards(opts: BuildOptions) -> BuildResult:
    """Validate every row (no output); errors are sorted by file and line."""
    found = language_files(open_shards(opts.shards, opts.languages, opts.registry))
    summaries = _run_languages(opts, found, None)
    errors = sorted((e for s in summaries for e in s["errors"]), key=_error_key)
    return BuildResult(summaries, errors)


def is_moud_folder(path: Path) -> bool:
    readme = path / CARD
    if not readme.is_file():
        return False
    with open(readme, encoding="utf-8", errors="replace") as fh:
        head = fh.read(1 << 20)
    return MARKER in head


def _check_out(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out}: exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not is_moud_folder(out):
        raise ConfigError(
            f"--out {out}: folder exists and is not a MOUD dataset built by `moud build` "
            "(no generated README.md); refusing to overwrite it"
        )


def build_dataset(opts: BuildOptions) -> BuildResult:
    """Build the dataset folder at opts.out; raise ShardErrors (nothing written) if any row is invalid."""
    out = Path(opts.out)
    _check_out(out)
    source = open_shards(opts.shards, opts.languages, opts.registry)
    found = language_files(source)
    filter_stats = load_filter_stats(source.filter_stats)
    with staged_folder(out) as tmp:
        summaries = _run_languages(opts, found, tmp / DATA_DIR)
        errors = sorted((e for s in summaries for e in s["errors"]), key=_error_key)
        if errors:
            raise ShardErrors(errors)
        empty = [s["language"] for s in summaries if not sum(sp["dialogues"] for sp in s["splits"].values())]
        for lang in empty:  # a language without rows gets no config (a config must have data files)
            shutil.rmtree(tmp / DATA_DIR / lang, ignore_errors=True)
            print(
                f"moud build: note: language {lang!r} has no rows in {opts.shards}; it gets no config",
                file=sys.stderr,
            )
        summaries = [s for s in summaries if s["language"] not in empty]
        if not summaries:
            raise MoudError(f"{opts.shards}: no rows to build (every language is empty)")
        warn_build(opts, summaries, filter_stats)
        card = render_card(
            summaries,
            ratios=opts.ratios,
            seed=opts.seed,
            license=opts.license,
            filter_stats=filter_stats,
            registry=opts.registry,
        )
        atomic_write_text(tmp / CARD, card)
        write_build_marker(tmp, opts.seed, opts.ratios)
    return BuildResult(summaries, [], out)


def warn_build(opts: BuildOptions, summaries: list[dict], filter_stats: dict | None) -> None:
    """One line on stderr each: rows that did not pass `moud filter`, and a language left without a
    validation or test split (``load_dataset(..., split=...)`` then raises)."""
    if filter_stats is None:
        print(
            f"moud build: warning: {opts.shards} was not filtered (no filter_stats.json): run "
            "`moud filter --in RUN --out FILTERED` and build from FILTERED (the card says so too)",
            file=sys.stderr,
        )
    ratios = "/".join(f"{r:g}" for r in opts.ratios)
    for s in summaries:
        missing = [k for k in SPLITS[1:] if not s["splits"][k]["dialogues"]]
        if missing:
            total = sum(sp["dialogues"] for sp in s["splits"].values())
            print(
                f"moud build: warning: language {s['language']!r} has no {' and no '.join(missing)} split "
                f"({total} dialogue(s), split ratios {ratios}): load_dataset(..., {s['language']!r}, "
                f"split={missing[0]!r}) will fail; make more dialogues or change --split-ratios",
                file=sys.stderr,
            )


def write_build_marker(folder: Path, seed: int = 0, ratios=DEFAULT_RATIOS) -> None:
    """``moud_build.json``: size and sha256 of every data file, so `moud upload` (or anyone) can verify
    the folder was not edited after the build, and the split settings (``{"split": {"seed", "ratios"}}``),
    so a reader that splits shards itself (the baselines) can check it splits as the build did."""
    import hashlib
    import json

    from moud_core import __version__

    files = {}
    for path in sorted((folder / DATA_DIR).rglob("*.parquet")):
        digest = hashlib.sha256()
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
        files[path.relative_to(folder).as_posix()] = {
            "size": path.stat().st_size,
            "sha256": digest.hexdigest(),
        }
    marker = {
        "format": "moud-build",
        "version": 1,
        "moud_version": __version__,
        "files": files,
        "split": split_record(seed, ratios),
    }
    atomic_write_text(folder / BUILD_MARKER, json.dumps(marker, indent=1, sort_keys=True) + "\n")


def format_report(summaries: list[dict], ratios) -> str:
    """Per-language split table for the terminal."""
    header = f"{'lang':<6}" + "".join(f"{s:>12}" for s in SPLITS) + f"{'groups':>10}{'turns':>12}"
    lines = [f"split ratios {'/'.join(f'{r:g}' for r in ratios)} (dialogues per split):", header]
    tot = dict.fromkeys(SPLITS, 0)
    for s in summaries:
        sp = s["splits"]
        for k in SPLITS:
            tot[k] += sp[k]["dialogues"]
        groups = sum(sp[k]["groups"] for k in SPLITS)
        turns = sum(sp[k]["turns"] for k in SPLITS)
        lines.append(
            f"{s['language']:<6}"
            + "".join(f"{sp[k]['dialogues']:>12,}" for k in SPLITS)
            + f"{groups:>10,}{turns:>12,}"
        )
    lines.append(f"{'total':<6}" + "".join(f"{tot[k]:>12,}" for k in SPLITS))
    return "\n".join(lines)


def print_errors(errors: list[str], stream=None) -> None:
    stream = stream or sys.stderr
    for e in errors:
        print(e, file=stream)
    with contextlib.suppress(Exception):
        stream.flush()
