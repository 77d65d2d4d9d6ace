"""The one reader of dialogue rows: ``open_rows(path)`` opens any folder of rows and streams them, checked.

Folder kinds (told apart by what the folder holds):

    run      a run or filtered folder: RUN/shards/<lang>/*.jsonl (``moud_core.runfolder``)
    shards   a bare shards/ folder: <lang>/*.jsonl
    built    a dataset folder of `moud build`: data/<lang>/<split>-*.parquet (``moud_core.dataset_layout``)

Rows come language by language, JSONL line by line or Parquet batch by batch (never a whole file in
memory), each checked with the one row check (``moud_core.schema.validate_row``, the shard's language
included): a bad row raises a one-line MoudError ``file:line: field: problem``. A built dataset's split is
in its file names; JSONL rows have none, so with ``splits`` a row gets the split ``moud build`` gives it
(``moud_core.splits.plan_splits`` over the language's rows, with ``split_seed`` and ``split_ratios``).
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterable, Iterator
from pathlib import Path

from moud_core.dataset_layout import BUILD_MARKER, data_files, is_dataset_folder
from moud_core.errors import ConfigError, MoudError
from moud_core.jsonl import parse_line, read_json
from moud_core.languages import Language, load_registry
from moud_core.runfolder import RunFolder
from moud_core.schema import validate_row
from moud_core.splits import DEFAULT_RATIOS, SPLITS, plan_splits

RUN, SHARDS_ONLY, BUILT = "run", "shards", "built"
PARQUET_BATCH_ROWS = 1_000

# One scanned shard line: (file index among the language's files, line number, byte offset, byte length,
# row or None, problems). The build and the loader index rows by it and re-read them by byte offset.
Located = tuple[int, int, int, int, "dict | None", list]


def split_record(seed: int, ratios) -> dict:
    """The split settings as ``moud_build.json`` records them."""
    return {"seed": int(seed), "ratios": dict(zip(SPLITS, (float(r) for r in ratios), strict=True))}


class RowSource:
    """Rows of one folder, for some languages (and splits). Iterate for ``(where, row)`` pairs."""

    def __init__(self, path: Path, kind: str, files: dict, run: RunFolder | None, splits, seed: int, ratios):
        self.path, self.kind, self.run = path, kind, run
        self._files = files  # {lang: [file]} (JSONL) or {lang: [(split, file)]} (built)
        self.splits = tuple(splits) if splits is not None else None
        self.split_seed, self.split_ratios = seed, tuple(ratios)

    @property
    def languages(self) -> list[str]:
        return list(self._files)

    def files(self, language: str) -> list[Path]:
        """The language's files in reading order (for a built folder, those of the chosen splits)."""
        if self.kind != BUILT:
            return list(self._files[language])
        return [f for split, f in self._files[language] if self.splits is None or split in self.splits]

    @property
    def filter_stats(self) -> Path | None:
        """``filter_stats.json`` of a filtered folder (None for any other)."""
        return self.run.filter_stats if self.run is not None else None

    def build_split(self) -> dict | None:
        """The split settings a built folder was made with (None: not built, or built before they were
        recorded)."""
        if self.kind != BUILT or not (self.path / BUILD_MARKER).is_file():
            return None
        marker = read_json(self.path / BUILD_MARKER, "the build record of `moud build` (JSON)")
        return marker.get("split") if isinstance(marker, dict) else None

    def check_split(self, seed: int, ratios, who: str) -> None:
        """A built folder's splits are fixed: refuse (one line naming both) settings that disagree."""
        built = self.build_split()
        if built is None:
            return
        wanted = split_record(seed, ratios)
        if wanted != built:
            raise ConfigError(
                f"{self.path}: built with split seed {built.get('seed')} and ratios "
                f"{_ratios_text(built.get('ratios'))}, but {who} asks for seed {wanted['seed']} and ratios "
                f"{_ratios_text(wanted['ratios'])}; use the build's split settings, or read the run folder"
            )

    def count(self, language: str) -> int:
        """Rows in the language's files (before any split is applied to JSONL rows)."""
        if self.kind == BUILT:
            import pyarrow as pa
            import pyarrow.parquet as pq

            n = 0
            for f in self.files(language):
                try:
                    n += pq.ParquetFile(f).metadata.num_rows
                except (pa.ArrowException, OSError) as exc:
                    raise _unreadable(f, exc) from None
            return n
        n = 0
        for f in self.files(language):
            with open(f, "rb") as fh:
                n += sum(1 for line in fh if line.strip())
        return n

    def __iter__(self) -> Iterator[tuple[str, dict]]:
        for language in self._files:
            yield from self.rows(language)

    def rows(self, language: str) -> Iterator[tuple[str, dict]]:
        """(``file:line``, row) of one language, checked; the first bad row raises a one-line MoudError."""
        if self.kind == BUILT:
            yield from _parquet_rows(self.files(language), language)
            return
        files = self.files(language)
        planned = self._plan(language) if self.splits is not None else None
        for file_idx, lineno, _offset, _length, row, problems in self.located(language):
            if problems:
                raise MoudError(f"{files[file_idx]}:{lineno}: {problems[0]}")
            if planned is None or planned[row["id"]] in self.splits:
                yield f"{files[file_idx]}:{lineno}", row

    def _plan(self, language: str) -> dict[str, str]:
        """Row id -> the split ``moud build`` gives it (persona groups need the language's rows first)."""
        rows = []
        files = self.files(language)
        for file_idx, lineno, _offset, _length, row, problems in self.located(language):
            if problems:
                raise MoudError(f"{files[file_idx]}:{lineno}: {problems[0]}")
            rows.append((row["id"], row["split_group"], row["persona_a"], row["persona_b"]))
        plan = plan_splits([r[1:] for r in rows], self.split_seed, self.split_ratios)
        return {r[0]: split for r, split in zip(rows, plan.splits, strict=True)}

    def located(self, language: str) -> Iterator[Located]:
        """Every non-blank line of a JSONL language with its byte span and its problems (none raised)."""
        if self.kind == BUILT:
            raise MoudError(f"{self.path}: a built dataset has no shard lines (give a run folder)")
        return locate_lines(self.files(language), language)


def locate_lines(files: list[Path], language: str) -> Iterator[Located]:
    """Every non-blank line of one language's shard files with its byte span and its problems (none raised),
    for a reader that lists every problem (`moud build --check`) or re-reads rows by offset."""
    for file_idx, path in enumerate(files):
        offset = 0
        with open(path, "rb") as fh:
            for lineno, line in enumerate(fh, 1):
                start, length = offset, len(line)
                offset += length
                if lineno == 1 and line.startswith(codecs.BOM_UTF8):  # allowed, as everywhere else
                    start, length, line = start + 3, length - 3, line[3:]
                row, problem = parse_line(line)
                if problem is not None:
                    yield file_idx, lineno, start, length, None, [problem]
                elif row is not None:
                    yield file_idx, lineno, start, length, row, validate_row(row, language)


def read_lines(handles: list, entries: Iterable[tuple]) -> bytes:
    """The lines of ``entries`` ((…, file index, line, offset, length) as the build indexes rows) re-read by
    byte offset from the open ``handles``, one per line."""
    parts = []
    for _rid, file_idx, _lineno, offset, length in entries:
        fh = handles[file_idx]
        fh.seek(offset)
        line = fh.read(length)
        parts.append(line if line.endswith(b"\n") else line + b"\n")
    return b"".join(parts)


def read_rows(handles: list, entries: Iterable[tuple]) -> Iterator[dict]:
    """The rows of ``entries`` (as ``read_lines``), parsed one by one (they were checked when indexed)."""
    for _rid, file_idx, _lineno, offset, length in entries:
        fh = handles[file_idx]
        fh.seek(offset)
        yield json.loads(fh.read(length))


def _ratios_text(ratios) -> str:
    if not isinstance(ratios, dict):
        return repr(ratios)
    return "/".join(f"{ratios.get(s, 0):g}" for s in SPLITS)


def _parquet_rows(files: list[Path], language: str) -> Iterator[tuple[str, dict]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    for path in files:
        n = 0
        try:
            batches = pq.ParquetFile(path).iter_batches(batch_size=PARQUET_BATCH_ROWS)
            for batch in batches:
                for row in batch.to_pylist():
                    n += 1
                    problems = validate_row(row, language)
                    if problems:
                        raise MoudError(f"{path}: row {n}: {problems[0]}")
                    yield f"{path}: row {n}", row
        except (pa.ArrowException, OSError) as exc:
            raise _unreadable(path, exc) from None


def _unreadable(path: Path, exc: Exception) -> MoudError:
    return MoudError(f"{path}: not a readable Parquet file ({' '.join(str(exc).split())[:160]})")


def folder_kind(path: str | Path) -> str | None:
    """``built``, ``run`` or ``shards`` by what the folder holds; None when it holds no rows."""
    path = Path(path)
    if is_dataset_folder(path):
        return BUILT
    if not path.is_dir():
        return None
    run = RunFolder.open(path)
    if any(run.shards.glob("*/*.jsonl")):
        return RUN if run.is_run else SHARDS_ONLY
    return None


def open_rows(
    path: str | Path,
    languages: Iterable[str] | None = None,
    splits: Iterable[str] | None = None,
    *,
    split_seed: int = 0,
    split_ratios=DEFAULT_RATIOS,
    flag: str = "--in",
    registry: dict[str, Language] | None = None,
    required: bool = True,
) -> RowSource:
    """Open a run / filtered / shards / built folder. ``languages`` restricts (and, when ``required``, must
    all be present, as must some rows); ``splits`` keeps only those splits."""
    path = Path(path)
    wanted = None if languages is None else list(dict.fromkeys(languages))
    bad = [s for s in splits or () if s not in SPLITS]
    if bad:
        raise ConfigError(f"split {bad[0]!r}: expected one of {', '.join(SPLITS)}")
    if is_dataset_folder(path):
        found = data_files(path)
        if wanted is not None:
            missing = [c for c in wanted if c not in found]
            if missing and required:
                raise ConfigError(
                    f"{flag} {path}: no data for language(s) {', '.join(missing)} "
                    f"(found: {', '.join(found) or 'none'})"
                )
            found = {c: found[c] for c in wanted if c in found}
        return RowSource(path, BUILT, found, None, splits, split_seed, split_ratios)
    run = RunFolder.open(path, flag)
    registry = registry if registry is not None else load_registry()
    found = run.language_files(registry, wanted, required=required)
    return RowSource(path, RUN if run.is_run else SHARDS_ONLY, found, run, splits, split_seed, split_ratios)
