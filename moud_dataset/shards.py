"""Pass 1 of the build: index generation shards (``shards/<lang>/*.jsonl``) without holding them in memory.

``scan_language`` reads one language's shards once through ``moud_core.row_source`` (every row checked with
the one row check, ``moud_core.schema.validate_row``) and keeps only a small index entry per row
(id, file, line, byte offset, length) plus the statistics the dataset card needs.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from moud_core.errors import ConfigError
from moud_core.languages import Language, load_registry, select_languages
from moud_core.persona_collapse import PersonaCollapse
from moud_core.row_source import BUILT, RowSource, locate_lines, open_rows
from moud_core.splits import SPLITS, plan_splits_of_sets


def open_shards(
    path,
    languages: str | list[str] | None = None,
    registry: dict[str, Language] | None = None,
    flag="--shards",
) -> RowSource:
    """The row source of a run / filtered / shards folder (a built dataset is refused: it is the output)."""
    registry = registry if registry is not None else load_registry()
    source = open_rows(
        path,
        select_languages(languages, all_means="present", registry=registry),
        flag=flag,
        registry=registry,
    )
    if source.kind == BUILT:
        raise ConfigError(
            f"{flag} {path}: is a dataset folder built by `moud build`; expected a run folder with "
            "shards/<lang>/*.jsonl"
        )
    return source


def language_files(source: RowSource) -> dict[str, list[Path]]:
    """{code: sorted shard files} of the languages the source holds."""
    return {code: source.files(code) for code in source.languages}


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
    split_notes: list[str] = field(default_factory=list)  # persona groups moved to fill validation / test
    collapse: PersonaCollapse | None = None  # persona-collapse measures (the card)

    @property
    def rows(self) -> int:
        return sum(len(v) for v in self.index.values())

    def counts(self) -> dict[str, int]:
        return {s: len(self.index[s]) for s in SPLITS}


def scan_language(language: str, files: list[Path], seed: int, ratios) -> LanguageScan:
    """Validate every row of one language's shards; every problem is one 'file:line: field: ...' string."""
    scan = LanguageScan(language, [str(f) for f in files], collapse=PersonaCollapse(language))
    kept = []  # (entry, split_group, persona sets, turns): the split needs all the persona groups
    for file_idx, lineno, start, length, row, problems in locate_lines(files, language):
        if problems:
            scan.errors.extend(f"{files[file_idx]}:{lineno}: {p}" for p in problems)
            continue
        entry = (row["id"], file_idx, lineno, start, length)
        sets = scan.collapse.add_row(row)  # persona sets, normalized once for the measures and the split
        kept.append((entry, row["split_group"], sets, len(row["turns"])))
        scan.speech_events[row["speech_event"]] += 1
        meta = row["metadata"]
        scan.generator_models[meta["generator_model"]] += 1
        scan.prompt_versions[meta["prompt_version"]] += 1
    plan = plan_splits_of_sets(
        [k[1] for k in kept], [k[2] for k in kept], seed, ratios, scan.collapse.set_pairs()
    )
    scan.split_notes = plan.notes
    for (entry, _, _, turns), split, group in zip(kept, plan.splits, plan.groups, strict=True):
        scan.index[split].append(entry)
        scan.turns[split] += turns
        scan.split_groups[split].add(group)
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
