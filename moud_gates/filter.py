"""``filter_run``: `moud filter` over a run folder, streamed shard by shard (optionally in worker processes),
dedup admitted in id order, everything staged beside ``--out`` and moved into place at the end."""

from __future__ import annotations

import contextlib
import gc
import json
import threading
from collections import Counter
from pathlib import Path

from moud_core.atomic import atomic_open, atomic_write_text, staged_folder
from moud_core.errors import MoudError
from moud_core.jsonl import JsonlError, dumps_line, iter_jsonl
from moud_core.languages import Language, load_registry
from moud_core.records import drop_line, drop_record, schema_drop
from moud_core.runfolder import DROPS, FILTER_STATS, SHARDS, RunFolder
from moud_core.schema import validate_row
from moud_core.workers import process_pool
from moud_gates.config import FilterConfig
from moud_gates.pipeline import FilterPipeline
from moud_gates.report import format_table, plot_stats

_WORKER: FilterPipeline | None = None
_STREAMING_GC_THRESHOLD = (50_000, 50, 100)  # see few_gc_passes
_CHUNK_ROWS = 256  # rows prefilled together: LID, dedup signatures, script/letter counts


def _read_shard(path: Path, code: str, skip_invalid: bool):
    """Yield ('row', row) or ('invalid', record) for each line of a shard."""
    errors: list[JsonlError] = []
    for lineno, obj in iter_jsonl(path, skip_invalid=skip_invalid, errors=errors):
        for err in errors:
            yield "invalid", schema_drop(None, str(err), err.lineno)
        errors.clear()
        problems = validate_row(obj, code)
        if problems:
            msg = f"{path}:{lineno}: {problems[0]}"
            if not skip_invalid:
                raise MoudError(msg)
            yield "invalid", schema_drop(obj, msg, lineno)
            continue
        yield "row", obj
    for err in errors:
        yield "invalid", schema_drop(None, str(err), err.lineno)


def _process_shard(pipe: FilterPipeline, code: str, path: Path, skip_invalid: bool) -> tuple[list, Counter]:
    """Stateless gates over one shard: ([(gate or None, JSON line, row id, dedup signature)], counters).

    Rows are serialized here (in the worker) so only strings travel back to the parent process, which
    just runs the dedup admission in id order and writes the lines."""
    out, counters = [], Counter()
    chunk: list = []  # rows (and invalid lines, in order) checked together so prefill batches their counts

    def flush() -> None:
        rows = [obj for kind, obj in chunk if kind == "row"]
        memos = iter(pipe.prefill(rows))
        for kind, obj in chunk:
            if kind == "invalid":
                out.append(("schema", dumps_line(obj), None, None))
                continue
            drop, sig, c = pipe.check_stateless(obj, next(memos))
            if c:
                counters.update(c)
            if drop is not None:
                out.append((drop.gate, dumps_line(drop_record(obj, drop)), None, None))
            else:
                out.append((None, dumps_line(obj), obj["id"], sig))
        chunk.clear()

    try:
        for item in _read_shard(path, code, skip_invalid):
            chunk.append(item)
            if len(chunk) >= _CHUNK_ROWS:
                flush()
        flush()
    except MoudError as exc:  # re-raise as a plain MoudError so it pickles across processes
        raise MoudError(str(exc)) from None
    return out, counters


def _write_lines(path: Path, lines: list[str]) -> None:
    with atomic_open(path, "w") as fh:
        if lines:
            fh.write("\n".join(lines))
            fh.write("\n")


def _import_matplotlib() -> None:
    with contextlib.suppress(Exception):
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot  # noqa: F401


@contextlib.contextmanager
def few_gc_passes():
    """Fewer garbage-collector passes while rows stream through (5-10% less CPU): the gates allocate
    millions of short-lived, acyclic objects, which reference counting frees anyway. Objects that exist
    before are frozen out of the collector's scans. The previous settings come back afterwards."""
    threshold = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(*_STREAMING_GC_THRESHOLD)
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        gc.unfreeze()


def _init_worker(config_raw: dict, source: str, registry: dict[str, Language]) -> None:
    global _WORKER
    _WORKER = FilterPipeline(FilterConfig(config_raw, source), registry)
    gc.freeze()
    gc.set_threshold(*_STREAMING_GC_THRESHOLD)  # as few_gc_passes, for the worker's whole life


def _worker_task(code: str, path: str, skip_invalid: bool):
    return _process_shard(_WORKER, code, Path(path), skip_invalid)


def filter_run(
    in_dir,
    out_dir,
    config: FilterConfig | str | Path | None = None,
    skip_invalid: bool = False,
    languages: list[str] | None = None,
    workers: int = 1,
    overwrite: bool = False,
    progress: bool = False,
    registry: dict[str, Language] | None = None,
) -> dict:
    """Filter every shard of ``in_dir`` into ``out_dir``; returns the filter_stats dict."""
    cfg = config if isinstance(config, FilterConfig) else FilterConfig.load(config)
    registry = registry if registry is not None else load_registry()
    out_dir = Path(out_dir)
    check_output_folder(out_dir, overwrite)
    shards = RunFolder.open(in_dir).files(registry, languages)
    pipe = FilterPipeline(cfg, registry)  # validates the config and the LID model path up front
    if workers > 1:  # the parent mostly waits on the workers: import the plotting library meanwhile
        threading.Thread(target=_import_matplotlib, daemon=True, name="import-matplotlib").start()
    with staged_folder(out_dir) as tmp:
        with few_gc_passes():
            stats = _run(pipe, cfg, shards, tmp, skip_invalid, workers, progress)
        staged = RunFolder.at(tmp)
        atomic_write_text(staged.filter_stats_path, json.dumps(stats, ensure_ascii=False, indent=2) + "\n")
        plot_stats(stats, staged.filter_plot_path)
    return stats


def _run(
    pipe: FilterPipeline,
    cfg: FilterConfig,
    shards,
    tmp: Path,
    skip_invalid: bool,
    workers: int,
    progress: bool,
) -> dict:
    from tqdm import tqdm

    bar = tqdm(total=len(shards), unit="shard", desc="filter", disable=not progress)

    current = [None]  # language being admitted: shards come grouped by language
    staged = RunFolder.at(tmp)

    def consume(code: str, path: Path, result) -> None:
        if current[0] is not None and code != current[0]:
            pipe.release(current[0])
        current[0] = code
        records, counters = result
        pipe.stats.add_counters(code, counters)
        kept, drops = [], []
        for gate, line, row_id, sig in records:
            if gate is None:
                drop = pipe.admit_id(row_id, code, sig)
                if drop is None:
                    kept.append(line)
                    pipe.stats.record(code, None)
                    continue
                gate, line = drop.gate, drop_line(line, drop)
            pipe.stats.record(code, gate)
            drops.append(line)
        _write_lines(staged.unit_path(SHARDS, code, path.name), kept)
        if drops:
            _write_lines(staged.unit_path(DROPS, code, path.name), drops)
        bar.update(1)

    if workers <= 1:
        for code, path in shards:
            consume(code, path, _process_shard(pipe, code, path, skip_invalid))
    else:
        pipe.warm(sorted({code for code, _ in shards}))  # forked workers inherit the tables
        with process_pool(workers, _init_worker, (cfg.raw, cfg.source, pipe.registry)) as pool:
            window = 2 * workers  # bounded number of shards in flight: memory stays flat
            pending = []
            for code, path in shards:
                pending.append((code, path, pool.submit(_worker_task, code, str(path), skip_invalid)))
                if len(pending) >= window:
                    c, p, fut = pending.pop(0)
                    consume(c, p, fut.result())
            for c, p, fut in pending:
                consume(c, p, fut.result())
    bar.close()
    return pipe.stats_dict()


def check_output_folder(out_dir: Path, overwrite: bool) -> None:
    """``--out`` must be new, empty, or (with ``overwrite``) an earlier output of ``moud filter``."""
    if out_dir.exists() and not out_dir.is_dir():
        raise MoudError(f"--out {out_dir}: is a file, expected a folder")
    if out_dir.is_dir() and any(out_dir.iterdir()):
        if not overwrite:
            raise MoudError(f"--out {out_dir}: folder exists and is not empty (use --overwrite)")
        if not RunFolder.at(out_dir).filter_stats_path.is_file():
            raise MoudError(
                f"--out {out_dir}: not an output of `moud filter` (no {FILTER_STATS}); refusing to "
                "overwrite it - choose another --out"
            )


def format_summary(stats: dict) -> str:
    """The printed table of a filter_stats dict."""
    return format_table(stats, stats.get("gates") or [])
