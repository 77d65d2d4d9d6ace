"""Judge items (personas, common grounds, dialogues) streamed from MOUD shards.

Accepts a run/filtered folder (uses ``DIR/shards/``), a ``shards/`` folder, a language folder or one
JSONL file. Rows are validated against ``moud_core/schema.py``; a bad row raises ``file:line: ...``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from eval.rubric import ITEM_KINDS
from moud_core.errors import MoudError
from moud_core.jsonl import JsonlError, iter_jsonl
from moud_core.schema import validate_row


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


def shard_files(path: str | Path, languages: Iterable[str] | None = None) -> list[Path]:
    """JSONL shard files under ``path`` in (language, file name) order."""
    path = Path(path)
    if not path.exists():
        raise MoudError(f"{path}: no such file or folder; expected a run folder, a shards/ folder or a .jsonl file")
    if path.is_file():
        return [path]
    root = path / "shards" if (path / "shards").is_dir() else path
    files = sorted(root.glob("*.jsonl")) + sorted(root.glob("*/*.jsonl"))
    wanted = set(languages) if languages else None
    if wanted is not None:
        files = [f for f in files if f.parent.name in wanted or f.parent == root]
    if not files:
        raise MoudError(f"{path}: no shard files (*.jsonl or <lang>/*.jsonl) found")
    return files


def iter_rows(path: str | Path, languages: Iterable[str] | None = None) -> Iterator[tuple[str, dict]]:
    """Yield (``file:line``, row) for every valid row; invalid rows raise a one-line MoudError."""
    wanted = set(languages) if languages else None
    for file in shard_files(path, wanted):
        for lineno, row in iter_jsonl(file):
            problems = validate_row(row)
            if problems:
                raise JsonlError(file, lineno, f"invalid row: {problems[0]}")
            if wanted is None or row["language"] in wanted:
                yield f"{file}:{lineno}", row


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
    return [Item(f"{row['id']}/{part}", row["id"], kind, row["language"], meta["generator_model"],
                 row["speech_event"], row) for kind, part in parts]


def iter_items(path: str | Path, kinds: Iterable[str] = ITEM_KINDS, languages: Iterable[str] | None = None,
               max_rows_per_language: int | None = None) -> Iterator[Item]:
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
