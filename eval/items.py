"""Judge items (personas, common grounds, dialogues) streamed from MOUD rows.

Accepts a run/filtered folder, its ``shards/`` folder or a built dataset folder
(``moud_core.row_source.open_rows``). Every row is checked with the one row check; a bad row raises
``file:line: field: problem``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from eval.rubric import ITEM_KINDS
from moud_core.errors import MoudError
from moud_core.row_source import RowSource, open_rows


@dataclass(frozen=True)
class Item:
    """One thing the judge scores. ``item_id`` is ``<row id>/<part>``; part: persona_a, persona_b,
    common_ground or dialogue."""

    item_id: str
    row_id: str
    kind: str
    language: str
    generator_model: str
    speech_event: str
    row: dict

    @property
    def part(self) -> str:
        return self.item_id.rsplit("/", 1)[1]


def open_source(path: str | Path, languages: Iterable[str] | None = None) -> RowSource:
    """The rows of ``path`` (``--shards``) for ``languages`` (None: every language present)."""
    return open_rows(path, _ordered(languages), flag="--shards")


def shard_files(path: str | Path, languages: Iterable[str] | None = None) -> list[Path]:
    """Data files of a run folder (or its shards/ folder, or a built dataset) in (language, file) order."""
    source = open_source(path, languages)
    return [f for code in source.languages for f in source.files(code)]


def row_counts(path: str | Path, languages: Iterable[str] | None = None) -> dict[str, int]:
    """{language: rows} without parsing them."""
    source = open_source(path, languages)
    return {code: source.count(code) for code in source.languages}


def iter_rows(path: str | Path, languages: Iterable[str] | None = None) -> Iterator[tuple[str, dict]]:
    """Yield (``file:line``, row) for every valid row; invalid rows raise a one-line MoudError."""
    yield from open_source(path, languages)


def _ordered(languages: Iterable[str] | None) -> list[str] | None:
    return None if languages is None else list(dict.fromkeys(languages))


def items_from_row(row: dict, kinds: Iterable[str] = ITEM_KINDS) -> list[Item]:
    kinds = set(kinds)
    meta = row["metadata"]
    parts = []
    if "persona" in kinds:
        parts += [("persona", "persona_a"), ("persona", "persona_b")]
    if "common_ground" in kinds:
        parts.append(("common_ground", "common_ground"))
    if "dialogue" in kinds:
        parts.append(("dialogue", "dialogue"))
    return [
        Item(
            f"{row['id']}/{part}",
            row["id"],
            kind,
            row["language"],
            meta["generator_model"],
            row["speech_event"],
            row,
        )
        for kind, part in parts
    ]


def iter_items(
    path: str | Path,
    kinds: Iterable[str] = ITEM_KINDS,
    languages: Iterable[str] | None = None,
    max_rows_per_language: int | None = None,
) -> Iterator[Item]:
    """Items in shard order; at most ``max_rows_per_language`` rows per language (the first ones)."""
    kinds = tuple(kinds)
    bad = [k for k in kinds if k not in ITEM_KINDS]
    if bad:
        raise MoudError(f"unknown item kind(s) {', '.join(bad)}; expected {', '.join(ITEM_KINDS)}")
    seen: dict[str, int] = {}
    for _, row in iter_rows(path, languages):
        n = seen.get(row["language"], 0)
        if max_rows_per_language is not None and n >= max_rows_per_language:
            continue
        seen[row["language"]] = n + 1
        yield from items_from_row(row, kinds)
