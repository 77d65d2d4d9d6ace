"""Validate generation shards (``shards/<lang>/*.jsonl``) without holding them in memory.

``scan_language`` reads one language's shards once, validates every row with
``moud_core.schema.validate_row`` and keeps only a small index entry per row
(id, file, byte offset, length) plus the statistics the dataset card needs.
"""

from __future__ import annotations

import codecs
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from moud_core.jsonl import json_problem
from moud_core.languages import Language, load_registry
from moud_core.persona_collapse import PersonaCollapse
from moud_core.runfolder import RunFolder, resolve_languages
from moud_core.schema import validate_row
from moud_core.splits import SPLITS, assign_split
from moud_dataset.features import LIST_ITEMS

_ITEM_TYPES = {"string": ({str}, "strings"), "float64": ({int, float}, "numbers")}
# (path, keys, allowed element types, what) for every list field whose element is a plain Value.
_LIST_CHECKS = [
    (path, tuple(path.split(".")), *_ITEM_TYPES[item.dtype])
    for path, item in LIST_ITEMS.items()
    if getattr(item, "dtype", None) in _ITEM_TYPES
]


def feature_problems(row: dict) -> list[str]:
    """Element types of list fields that validate_row leaves open (they must fit the Parquet schema)."""
    problems = []
    for path, keys, allowed, what in _LIST_CHECKS:
        value = row
        for key in keys:
            value = value[key]
        if not {type(v) for v in value} <= allowed:
            problems.append(f"{path}: expected a list of {what}")
    return problems


def language_files(
    source: RunFolder, languages: str | list[str] | None = None, registry: dict[str, Language] | None = None
) -> dict[str, list[Path]]:
    """{code: sorted shard files} for the languages present (optionally restricted to ``languages``)."""
    registry = registry if registry is not None else load_registry()
    return source.language_files(registry, resolve_languages(languages, registry))


@dataclass
class LanguageScan:
    """Pass-1 result for one language: the row index per split and card statistics."""

    language: str
    files: list[str]
    index: dict[str, list[tuple[str, int, int, int]]] = field(
        default_factory=lambda: {s: [] for s in SPLITS}
    )  # split -> [(id, file_idx, lineno, offset, length)]
    turns: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SPLITS, 0))
    speech_events: Counter = field(default_factory=Counter)
    generator_models: Counter = field(default_factory=Counter)
    prompt_versions: Counter = field(default_factory=Counter)
    split_groups: dict[str, set] = field(default_factory=lambda: {s: set() for s in SPLITS})
    errors: list[str] = field(default_factory=list)
    collapse: PersonaCollapse | None = None  # persona-collapse measures (the card)

    @property
    def rows(self) -> int:
        return sum(len(v) for v in self.index.values())

    def counts(self) -> dict[str, int]:
        return {s: len(self.index[s]) for s in SPLITS}


def scan_language(language: str, files: list[Path], seed: int, ratios) -> LanguageScan:
    """Validate every row of one language's shards; every problem is one 'file:line: field: ...' string."""
    scan = LanguageScan(language, [str(f) for f in files], collapse=PersonaCollapse(language))
    for file_idx, path in enumerate(files):
        offset = 0
        with open(path, "rb") as fh:
            for lineno, line in enumerate(fh, 1):
                start, length = offset, len(line)
                offset += length
                if lineno == 1 and line.startswith(codecs.BOM_UTF8):  # allowed, as everywhere else
                    start, length, line = start + 3, length - 3, line[3:]
                if not line.strip():
                    continue
                where = f"{path}:{lineno}"
                try:
                    row = json.loads(line)
                except ValueError as exc:
                    problem = json_problem(exc) if isinstance(exc, json.JSONDecodeError) else "invalid UTF-8"
                    scan.errors.append(f"{where}: {problem}")
                    continue
                problems = validate_row(row)
                if not problems:
                    problems = feature_problems(row)
                    if row["language"] != language:
                        problems.append(
                            f"language: expected {language!r} (the shard folder), got {row['language']!r}"
                        )
                if problems:
                    scan.errors.extend(f"{where}: {p}" for p in problems)
                    continue
                split = assign_split(row["split_group"], seed, ratios)
                scan.index[split].append((row["id"], file_idx, lineno, start, length))
                scan.turns[split] += len(row["turns"])
                scan.split_groups[split].add(row["split_group"])
                scan.speech_events[row["speech_event"]] += 1
                meta = row["metadata"]
                scan.generator_models[meta["generator_model"]] += 1
                scan.prompt_versions[meta["prompt_version"]] += 1
                scan.collapse.add_row(row)
    _check_duplicate_ids(scan)
    return scan


def _check_duplicate_ids(scan: LanguageScan) -> None:
    """Ids must be unique per language (they are the sort key and the example key)."""
    entries = sorted(e for split in SPLITS for e in scan.index[split])
    for prev, cur in zip(entries, entries[1:], strict=False):
        if prev[0] == cur[0]:
            scan.errors.append(
                f"{scan.files[cur[1]]}:{cur[2]}: id: duplicate {cur[0]!r} "
                f"(also at {scan.files[prev[1]]}:{prev[2]})"
            )
