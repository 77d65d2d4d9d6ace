"""Dialogue rows for review from a built dataset folder (``moud build``) or a run / filtered folder, read
through ``moud_core.row_source.open_rows`` (streamed, every row checked) in two passes: light keys for
sampling, then the chosen rows in full."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from moud_core.errors import MoudError
from moud_core.row_source import folder_kind, open_rows


@dataclass(frozen=True)
class RowKey:
    row_id: str
    language: str
    speech_event: str
    generator_model: str


def check_source(path: str | Path) -> Path:
    """The dataset folder, or a one-line error when it is neither kind of folder."""
    path = Path(path)
    if not path.is_dir():
        raise MoudError(
            f"--dataset {path}: no such folder; expected a folder built by `moud build` "
            "(data/<lang>/*.parquet) or a run/filtered folder (shards/<lang>/*.jsonl)"
        )
    if folder_kind(path) is None:
        raise MoudError(
            f"--dataset {path}: no dialogues: expected data/<lang>/*.parquet (moud build) or "
            "shards/<lang>/*.jsonl (a run or filtered folder)"
        )
    return path


def _rows(path: Path, languages: Iterable[str]):
    """(where, row) of the languages among ``languages`` that the folder holds."""
    return open_rows(path, languages, flag="--dataset", required=False)


def scan_keys(path: Path, languages: list[str]) -> list[RowKey]:
    """Every row's key for ``languages`` (id order within a language is not assumed)."""
    return [
        RowKey(row["id"], row["language"], row["speech_event"], row["metadata"]["generator_model"])
        for _, row in _rows(path, languages)
    ]


def fetch_rows(path: Path, keys: Iterable[RowKey]) -> dict[str, dict]:
    """Full rows for ``keys`` by row id."""
    wanted: dict[str, set[str]] = {}
    for k in keys:
        wanted.setdefault(k.language, set()).add(k.row_id)
    return {row["id"]: row for _, row in _rows(path, wanted) if row["id"] in wanted[row["language"]]}
