"""Dialogue rows from a built dataset folder (``data/<lang>/*.parquet``, from ``moud build``;
``moud_core.dataset_layout``) or a run / filtered folder (``shards/<lang>/*.jsonl``; ``moud_core.runfolder``),
read in two passes: light keys for sampling, then the chosen rows in full."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from moud_core.dataset_layout import DATA_DIR
from moud_core.errors import MoudError
from moud_core.languages import load_registry
from moud_core.runfolder import RunFolder

KEY_COLUMNS = ["id", "language", "speech_event", "metadata"]


@dataclass(frozen=True)
class RowKey:
    row_id: str
    language: str
    speech_event: str
    generator_model: str


def parquet_files(path: Path, languages: Iterable[str]) -> list[Path]:
    return [f for lang in languages for f in sorted((path / DATA_DIR / lang).glob("*.parquet"))]


def is_built(path: Path) -> bool:
    return (path / DATA_DIR).is_dir() and any((path / DATA_DIR).glob("*/*.parquet"))


def _read_parquet(file: Path, columns: list[str] | None = None, ids: set[str] | None = None) -> list[dict]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        filters = [("id", "in", sorted(ids))] if ids is not None else None
        return pq.read_table(file, columns=columns, filters=filters).to_pylist()
    except (pa.ArrowException, OSError) as exc:
        raise MoudError(f"{file}: not a readable Parquet file ({' '.join(str(exc).split())[:160]})") from None
    except KeyError as exc:
        raise MoudError(
            f"{file}: missing column {exc}; expected a MOUD dataset built by `moud build`"
        ) from None


def _key(row: dict, where: str) -> RowKey:
    try:
        return RowKey(row["id"], row["language"], row["speech_event"], row["metadata"]["generator_model"])
    except (KeyError, TypeError):
        raise MoudError(
            f"{where}: row lacks id, language, speech_event or metadata.generator_model"
        ) from None


def check_source(path: str | Path) -> Path:
    """The dataset folder, or a one-line error when it is neither kind of folder."""
    path = Path(path)
    if not path.is_dir():
        raise MoudError(
            f"--dataset {path}: no such folder; expected a folder built by `moud build` "
            "(data/<lang>/*.parquet) or a run/filtered folder (shards/<lang>/*.jsonl)"
        )
    if not is_built(path) and not any(path.glob("shards/*/*.jsonl")) and not any(path.glob("*/*.jsonl")):
        raise MoudError(
            f"--dataset {path}: no dialogues: expected data/<lang>/*.parquet (moud build) or "
            "shards/<lang>/*.jsonl (a run or filtered folder)"
        )
    return path


def _run_rows(path: Path, languages: Iterable[str]):
    """(``file:line``, row) of the languages among ``languages`` that the run folder holds."""
    run, registry = RunFolder.open(path, "--dataset"), load_registry()
    present = list(run.language_files(registry, languages, required=False))
    return run.iter_rows(registry, present) if present else iter(())


def scan_keys(path: Path, languages: list[str]) -> list[RowKey]:
    """Every row's key for ``languages`` (id order within a language is not assumed)."""
    if is_built(path):
        return [
            _key(r, str(f))
            for f in parquet_files(path, languages)
            for r in _read_parquet(f, KEY_COLUMNS)
            if r["language"] in languages
        ]
    return [_key(row, where) for where, row in _run_rows(path, languages)]


def fetch_rows(path: Path, keys: Iterable[RowKey]) -> dict[str, dict]:
    """Full rows for ``keys`` by row id."""
    wanted: dict[str, set[str]] = {}
    for k in keys:
        wanted.setdefault(k.language, set()).add(k.row_id)
    found: dict[str, dict] = {}
    if is_built(path):
        for lang, ids in wanted.items():
            for f in parquet_files(path, [lang]):
                found.update((r["id"], r) for r in _read_parquet(f, ids=ids))
    else:
        for _, row in _run_rows(path, wanted):
            if row["id"] in wanted[row["language"]]:
                found[row["id"]] = row
    return found
