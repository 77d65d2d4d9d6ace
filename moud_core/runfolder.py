"""The run folder: the one module that knows its layout. Every stage reads and writes it through here.

    RUN/manifest.json                      config, fingerprint(s), status, counts (manifest-IIIII.json per
                                           worker of a sharded run)
    RUN/shards/<lang>/shard-NNNNN.jsonl    dialogue rows (moud_core/schema.py), id order
    RUN/failures/<lang>/shard-NNNNN.jsonl  dialogues that could not be made (moud_core/records.py)
    RUN/drops/<lang>/shard-NNNNN.jsonl     rows a quality gate dropped, with the reason
    RUN/filter_stats.json                  written by `moud filter` (and filter_stats.png)
    RUN/cache.sqlite                       request cache (cache-IIIII.sqlite per worker)

A folder is given as the run folder or as its ``shards/`` folder. One rule for what is inside: every
sub-folder holding ``.jsonl`` files is a language of the registry; any other is an error naming it. Rows
are read through ``moud_core.row_source.open_rows`` (which also reads a built dataset folder).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from moud_core.atomic import atomic_write_text
from moud_core.errors import ConfigError, MoudError, os_error
from moud_core.jsonl import read_json, write_jsonl_atomic
from moud_core.languages import Language, load_registry

SHARDS, FAILURES, DROPS = "shards", "failures", "drops"
KINDS = (SHARDS, FAILURES, DROPS)
MANIFEST = "manifest.json"
WORKER_MANIFEST_GLOB = "manifest-*.json"
FILTER_STATS = "filter_stats.json"
FILTER_PLOT = "filter_stats.png"
SHARD_GLOB = "*.jsonl"


def shard_name(index: int) -> str:
    return f"shard-{index:05d}.jsonl"


def manifest_name(num_shards: int = 1, shard_index: int = 0) -> str:
    """``manifest.json`` for a whole run; ``manifest-IIIII.json`` for worker I of a sharded run, so
    workers sharing one folder never overwrite each other's manifest."""
    return MANIFEST if num_shards == 1 else f"manifest-{shard_index:05d}.json"


def cache_name(num_shards: int = 1, shard_index: int = 0) -> str:
    return "cache.sqlite" if num_shards == 1 else f"cache-{shard_index:05d}.sqlite"


def _worker(manifest: str) -> str:
    """``IIIII`` of a worker's ``manifest-IIIII.json``."""
    return manifest[len("manifest-") : -len(".json")]


def _unknown_language(folder: Path, registry: dict[str, Language]) -> ConfigError:
    close = [c for c in registry if c[:1] == folder.name[:1]][:6]
    hint = f" (close: {', '.join(close)})" if close else ""
    return ConfigError(
        f"{folder}: folder name {folder.name!r} is not a language code of the registry{hint}; "
        "rename it, or add the language with --languages-file"
    )


@dataclass(frozen=True)
class RunFolder:
    """``root``: the run folder; ``shards``: its shards/ folder (``root`` itself when given a shards/ folder,
    then there are no failures/, drops/ or manifest)."""

    root: Path
    shards: Path

    @classmethod
    def open(cls, path: str | Path, flag: str = "--in") -> RunFolder:
        """A run folder or its shards/ folder; one-line errors for a missing path or a file."""
        path = Path(path)
        if not path.exists():
            raise ConfigError(
                f"{flag} {path}: no such folder (expected a run folder with shards/<lang>/*.jsonl)"
            )
        if not path.is_dir():
            raise ConfigError(f"{flag} {path}: is a file, expected a run folder or its shards/ folder")
        if (path / SHARDS).is_dir():
            return cls(path, path / SHARDS)
        return cls(path.parent if path.name == SHARDS else path, path)

    @classmethod
    def at(cls, root: str | Path) -> RunFolder:
        """The run folder ``root`` (which may not exist yet), e.g. one being written."""
        root = Path(root)
        return cls(root, root / SHARDS)

    @property
    def is_run(self) -> bool:
        return self.shards == self.root / SHARDS

    def kind_dir(self, kind: str) -> Path:
        return self.shards if kind == SHARDS else self.root / kind

    def unit_path(self, kind: str, language: str, name: str) -> Path:
        return self.kind_dir(kind) / language / name

    @property
    def filter_stats(self) -> Path | None:
        path = self.root / FILTER_STATS
        return path if self.is_run and path.is_file() else None

    @property
    def filter_stats_path(self) -> Path:
        """Where `moud filter` writes its statistics (``filter_stats`` is the file when it exists)."""
        return self.root / FILTER_STATS

    @property
    def filter_plot_path(self) -> Path:
        return self.root / FILTER_PLOT

    # -- reading --------------------------------------------------------------------------------------
    def language_files(
        self,
        registry: dict[str, Language] | None = None,
        languages: Iterable[str] | None = None,
        kind: str = SHARDS,
        required: bool = True,
    ) -> dict[str, list[Path]]:
        """{language: sorted .jsonl files} of one kind. Every sub-folder with .jsonl files must be a registry
        language (else a ConfigError naming it); ``languages`` restricts and must all be present."""
        registry = registry if registry is not None else load_registry()
        base = self.kind_dir(kind)
        found: dict[str, list[Path]] = {}
        if base.is_dir():
            loose = sorted(base.glob(SHARD_GLOB))
            if loose and kind == SHARDS:
                raise ConfigError(
                    f"{base}: holds {loose[0].name} directly, expected <lang>/*.jsonl sub-folders; "
                    "give the run folder or its shards/ folder, not a language folder"
                )
            for sub in sorted(p for p in base.iterdir() if p.is_dir()):
                files = sorted(f for f in sub.glob(SHARD_GLOB) if f.is_file())
                if not files:
                    continue
                if sub.name not in registry:
                    raise _unknown_language(sub, registry)
                found[sub.name] = files
        if not found and required:
            raise ConfigError(f"{base}: no shard files found (expected <lang>/shard-NNNNN.jsonl)")
        if languages is not None:
            wanted = list(languages)
            missing = [c for c in wanted if c not in found]
            if missing and required:
                raise ConfigError(
                    f"{base}: no shards for language(s) {', '.join(missing)} "
                    f"(found: {', '.join(found) or 'none'})"
                )
            found = {c: found[c] for c in wanted if c in found}
        return found

    def files(
        self,
        registry: dict[str, Language] | None = None,
        languages: Iterable[str] | None = None,
        kind: str = SHARDS,
        required: bool = True,
    ) -> list[tuple[str, Path]]:
        """(language, file) pairs in language then file order."""
        return [
            (code, f)
            for code, fs in self.language_files(registry, languages, kind, required).items()
            for f in fs
        ]

    # -- manifests ------------------------------------------------------------------------------------
    def manifest_paths(self) -> list[Path]:
        """Every manifest in the folder: the run's own and those of sharded workers."""
        own = self.root / MANIFEST
        paths = [own] if own.is_file() else []
        return paths + sorted(p for p in self.root.glob(WORKER_MANIFEST_GLOB) if p.is_file())

    def cache_files(self, manifest: str = MANIFEST) -> list[Path]:
        """The request cache files (SQLite's -wal/-shm included) of the whole run (``manifest.json``: every
        worker's too) or of the sharded worker whose manifest is ``manifest``."""
        pattern = "cache*.sqlite*" if manifest == MANIFEST else f"cache-{_worker(manifest)}.sqlite*"
        return sorted(self.root.glob(pattern))

    def write_unit(self, kind: str, language: str, name: str, records: list) -> None:
        """One work unit's file of ``kind``, atomically."""
        path = self.unit_path(kind, language, name)
        try:
            write_jsonl_atomic(path, records)
        except OSError as exc:
            raise os_error(path, exc) from None

    def write_manifest(
        self, manifest: dict, status: str, name: str = MANIFEST, extra: dict | None = None
    ) -> dict:
        """Write ``name`` atomically: the manifest, its status, ``extra`` and the per-language counts of
        what is in the folder now. Returns what was written."""
        data = {**manifest, "status": status, **(extra or {}), "languages": self.count_outputs()}
        path = self.root / name
        try:
            atomic_write_text(path, json.dumps(data, ensure_ascii=False, indent=2) + "\n")
        except OSError as exc:
            raise os_error(path, exc) from None
        return data

    def count_outputs(self) -> dict:
        """{language: {dialogues, shard_files, failed, dropped}} of what the folder holds now."""
        counts: dict = {}
        names = {SHARDS: "dialogues", FAILURES: "failed", DROPS: "dropped"}
        for kind in KINDS:
            base = self.kind_dir(kind)
            if not base.is_dir():
                continue
            for lang_dir in sorted(p for p in base.iterdir() if p.is_dir()):
                files = sorted(lang_dir.glob("shard-*.jsonl"))
                n = 0
                for f in files:
                    with open(f, "rb") as fh:
                        n += sum(1 for line in fh if line.strip())
                entry = counts.setdefault(lang_dir.name, {})
                entry[names[kind]] = n
                if kind == SHARDS:
                    entry["shard_files"] = len(files)
        return counts


def read_manifest(path: Path) -> dict:
    data = read_json(path, "a run manifest (JSON)")
    if not isinstance(data, dict) or not (data.get("fingerprint") or data.get("fingerprints")):
        raise MoudError(f"{path}: not a run manifest (expected an object with a 'fingerprint' field)")
    return data


def manifest_fingerprints(data: dict) -> list[str]:
    return list(data.get("fingerprints") or [data.get("fingerprint")])
