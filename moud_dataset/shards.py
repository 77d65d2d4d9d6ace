"""Find and validate generation shards (``shards/<lang>/*.jsonl``) without holding them in memory.

``scan_language`` reads one language's shards once, validates every row with
``moud_core.schema.validate_row`` and keeps only a small index entry per row
(id, file, byte offset, length) plus the statistics the dataset card needs.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from moud_core.errors import ConfigError
from moud_core.languages import Language, get_language, parse_language_list
from moud_core.schema import validate_row
from moud_core.splits import SPLITS, assign_split
from moud_dataset.features import LIST_ITEMS

_ITEM_TYPES = {"string": ({str}, "strings"), "float64": ({int, float}, "numbers")}
# (path, keys, allowed element types, what) for every list field whose element is a plain Value.
_LIST_CHECKS = [(path, tuple(path.split(".")), *_ITEM_TYPES[item.dtype])
                for path, item in LIST_ITEMS.items() if getattr(item, "dtype", None) in _ITEM_TYPES]


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


@dataclass(frozen=True)
class ShardSource:
    """Where the shards are: ``shards_dir/<lang>/*.jsonl`` and, when present, filter_stats.json."""

    shards_dir: Path
    filter_stats: Path | None
    manifest: Path | None


def resolve_source(path: str | Path) -> ShardSource:
    """Accept a run/filtered folder (uses DIR/shards/) or a shards/ folder itself."""
    root = Path(path)
    if not root.is_dir():
        raise ConfigError(f"--shards {root}: not a folder (expected a run folder or its shards/ folder)")
    if (root / "shards").is_dir():
        shards, run = root / "shards", root
    else:
        shards, run = root, root.parent
    if not any(p.is_dir() and any(p.glob("*.jsonl")) for p in shards.iterdir()):
        raise ConfigError(f"--shards {root}: no <lang>/*.jsonl shard files found under {shards}")
    stats = run / "filter_stats.json"
    manifest = run / "manifest.json"
    return ShardSource(shards, stats if stats.is_file() else None, manifest if manifest.is_file() else None)


def language_dirs(source: ShardSource, languages: str | list[str] | None = None,
                  registry: dict[str, Language] | None = None) -> dict[str, list[Path]]:
    """{code: sorted shard files} for the languages present (optionally restricted to ``languages``)."""
    found: dict[str, list[Path]] = {}
    for sub in sorted(p for p in source.shards_dir.iterdir() if p.is_dir()):
        files = sorted(sub.glob("*.jsonl"))
        if not files:
            continue
        get_language(sub.name, registry)  # unknown folder names are an error, not silently skipped
        found[sub.name] = files
    if languages:
        wanted = parse_language_list(languages, registry)
        missing = [c for c in wanted if c not in found]
        if missing and wanted != parse_language_list("all", registry):
            raise ConfigError(f"--languages: no shards for {', '.join(missing)} under {source.shards_dir}")
        found = {c: found[c] for c in wanted if c in found}
    return found


@dataclass
class LanguageScan:
    """Pass-1 result for one language: the row index per split and card statistics."""

    language: str
    files: list[str]
    index: dict[str, list[tuple[str, int, int, int]]] = field(
        default_factory=lambda: {s: [] for s in SPLITS})  # split -> [(id, file_idx, lineno, offset, length)]
    turns: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SPLITS, 0))
    speech_events: Counter = field(default_factory=Counter)
    generator_models: Counter = field(default_factory=Counter)
    prompt_versions: Counter = field(default_factory=Counter)
    split_groups: dict[str, set] = field(default_factory=lambda: {s: set() for s in SPLITS})
    errors: list[str] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return sum(len(v) for v in self.index.values())

    def counts(self) -> dict[str, int]:
        return {s: len(self.index[s]) for s in SPLITS}


def scan_language(language: str, files: list[Path], seed: int, ratios) -> LanguageScan:
    """Validate every row of one language's shards; every problem is one 'file:line: field: ...' string."""
    scan = LanguageScan(language, [str(f) for f in files])
    for file_idx, path in enumerate(files):
        offset = 0
        with open(path, "rb") as fh:
            for lineno, line in enumerate(fh, 1):
                start, length = offset, len(line)
                offset += length
                if not line.strip():
                    continue
                where = f"{path}:{lineno}"
                try:
                    row = json.loads(line)
                except ValueError as exc:
                    problem = f"invalid JSON ({exc.msg} at column {exc.colno})" if hasattr(exc, "msg") else \
                        "invalid UTF-8"
                    scan.errors.append(f"{where}: {problem}")
                    continue
                problems = validate_row(row)
                if not problems:
                    problems = feature_problems(row)
                    if row["language"] != language:
                        problems.append(f"language: expected {language!r} (the shard folder), "
                                        f"got {row['language']!r}")
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
    _check_duplicate_ids(scan)
    return scan


def _check_duplicate_ids(scan: LanguageScan) -> None:
    """Ids must be unique per language (they are the sort key and the example key)."""
    entries = sorted(e for split in SPLITS for e in scan.index[split])
    for prev, cur in zip(entries, entries[1:], strict=False):
        if prev[0] == cur[0]:
            scan.errors.append(f"{scan.files[cur[1]]}:{cur[2]}: id: duplicate {cur[0]!r} "
                               f"(also at {scan.files[prev[1]]}:{prev[2]})")
