"""Validate a ``moud build`` folder before anything is sent: card YAML, configs vs files, stray files,
Parquet footers, and ``load_dataset`` of every config (offline, cache in a temp dir)."""

from __future__ import annotations

import json
import os
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from hub_upload.card_configs import ConfigSpec, FolderError, glob_regex, parse_configs, read_card_yaml
from hub_upload.load_check import check_loads, check_parquet
from hub_upload.local_files import LocalFile
from hub_upload.settings import load_settings
from moud_core.dataset_layout import BUILD_MARKER, CARD, DATA_FILE_RE, DROPS_FILE_RE
from moud_core.jsonl import json_problem


@dataclass
class FolderPlan:
    folder: Path
    files: list[LocalFile]  # everything that will be uploaded, sorted by path
    configs: list[ConfigSpec]
    card: LocalFile
    marker: LocalFile | None
    include_drops: bool

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)

    def managed_prefixes(self) -> list[str]:
        settings = load_settings()
        return list(settings.managed_prefixes) + (
            list(settings.managed_prefixes_with_drops) if self.include_drops else []
        )


def _walk(folder: Path) -> list[tuple[str, Path]]:
    found = []
    for root, dirs, files in os.walk(folder, followlinks=False):
        dirs.sort()
        for name in sorted(files) + [d for d in dirs if (Path(root) / d).is_symlink()]:
            abs_path = Path(root) / name
            found.append((abs_path.relative_to(folder).as_posix(), abs_path))
    return found


def collect_files(folder: Path, include_drops: bool) -> tuple[list[LocalFile], LocalFile, LocalFile | None]:
    """Every file to upload; refuses stray files (caches, secrets, drops unless asked) and symlinks."""
    keep, stray = [], []
    for rel, abs_path in _walk(folder):
        if abs_path.is_symlink():
            raise FolderError(
                f"{abs_path}: symbolic links are not uploaded (they may point outside the folder)"
            )
        if rel in (CARD, BUILD_MARKER) or DATA_FILE_RE.match(rel):
            keep.append(LocalFile(rel, abs_path, abs_path.stat().st_size))
        elif include_drops and DROPS_FILE_RE.match(rel):
            keep.append(LocalFile(rel, abs_path, abs_path.stat().st_size))
        else:
            stray.append(rel)
    if stray:
        hint = " (drops/ needs --include-drops)" if any(s.startswith("drops/") for s in stray) else ""
        shown = ", ".join(stray[:5]) + (f" and {len(stray) - 5} more" if len(stray) > 5 else "")
        raise FolderError(
            f"{folder}: {len(stray)} file(s) are not part of a `moud build` dataset{hint}: {shown}; "
            f"expected only {CARD}, {BUILD_MARKER} and "
            "data/<config>/<split>-NNNNN-of-NNNNN.parquet"
        )
    by_path = {f.path: f for f in keep}
    card = by_path.get(CARD)
    if card is None:
        raise FolderError(f"{folder}: no {CARD} (dataset card with `configs:`); not a `moud build` folder")
    return keep, card, by_path.get(BUILD_MARKER)


def _check_shard_sets(folder: Path, data_paths: list[str]) -> None:
    groups: dict[tuple[str, str], list[tuple[int, int, str]]] = defaultdict(list)
    for path in data_paths:
        m = DATA_FILE_RE.match(path)
        groups[(m["config"], m["split"])].append((int(m["index"]), int(m["count"]), path))
    for (config, split), shards in sorted(groups.items()):
        counts = {count for _, count, _ in shards}
        if len(counts) != 1:
            raise FolderError(
                f"{folder}/data/{config}: {split} shards disagree on the shard count "
                f"({', '.join(p for _, _, p in shards)})"
            )
        count = counts.pop()
        missing = sorted(set(range(count)) - {i for i, _, _ in shards})
        if missing:
            raise FolderError(
                f"{folder}/data/{config}: {split} shard(s) {missing[:5]} of {count} are missing"
            )


def _check_marker(marker: LocalFile, by_path: dict[str, LocalFile]) -> None:
    try:
        info = json.loads(marker.abs_path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise FolderError(f"{marker.abs_path}: not UTF-8 text; expected a JSON object") from None
    except json.JSONDecodeError as exc:
        raise FolderError(f"{marker.abs_path}:{exc.lineno}: {json_problem(exc)}") from None
    if not isinstance(info, dict):
        raise FolderError(f"{marker.abs_path}: expected a JSON object")
    files = info.get("files")
    if files is None:
        return
    if not isinstance(files, dict):
        raise FolderError(f"{marker.abs_path}: `files` must map path -> {{size, sha256}}")
    for path, meta in sorted(files.items()):
        local = by_path.get(path)
        if local is None:
            raise FolderError(f"{marker.abs_path}: lists {path} but the folder has no such file")
        if isinstance(meta, dict) and "size" in meta and meta["size"] != local.size:
            raise FolderError(
                f"{local.abs_path}: size {local.size} differs from {meta['size']} recorded in "
                f"{marker.path} (edited after the build?)"
            )
        if isinstance(meta, dict) and "sha256" in meta and meta["sha256"] != local.sha256:
            raise FolderError(
                f"{local.abs_path}: sha256 differs from the one recorded in {marker.path} "
                "(edited after the build?)"
            )


def validate_folder(
    folder: str | Path,
    include_drops: bool = False,
    full_check: bool = False,
    load_check: bool = True,
    progress: bool = False,
) -> FolderPlan:
    """Everything that must hold before a single request is sent; raises FolderError otherwise."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FolderError(f"{folder}: not a folder (expected the output of `moud build --out`)")
    folder = folder.resolve()
    files, card, marker = collect_files(folder, include_drops)
    by_path = {f.path: f for f in files}
    configs = parse_configs(read_card_yaml(card.abs_path), card.abs_path)
    data_paths = [p for p in by_path if p.startswith("data/")]
    if not data_paths:
        raise FolderError(f"{folder}: no data/<config>/<split>-NNNNN-of-NNNNN.parquet files")
    covered = set()
    for spec in configs:
        for split, patterns in spec.splits.items():
            matched = []
            for pattern in patterns:
                rx = glob_regex(pattern)
                hits = [p for p in data_paths if rx.match(p)]
                if not hits:
                    raise FolderError(
                        f"{card.abs_path}: config {spec.name!r} split {split!r} path {pattern!r} "
                        "matches no file in the folder"
                    )
                matched.extend(hits)
            spec.files[split] = sorted(set(matched))
            covered.update(matched)
    orphans = sorted(set(data_paths) - covered)
    if orphans:
        raise FolderError(
            f"{folder}/{orphans[0]}: not referenced by any config in {card.path}"
            + (f" ({len(orphans) - 1} more)" if len(orphans) > 1 else "")
        )
    names = {spec.name for spec in configs}
    unnamed = sorted({p.split("/")[1] for p in data_paths} - names)
    if unnamed:
        raise FolderError(
            f"{folder}/data/{unnamed[0]}: no config named {unnamed[0]!r} in {card.path} "
            "(every data/<config>/ folder needs its own config)"
        )
    _check_shard_sets(folder, data_paths)
    if marker is not None:
        _check_marker(marker, by_path)
    check_parquet(folder, configs, by_path)
    if load_check:
        check_loads(folder, configs, full=full_check, progress=progress)
    return FolderPlan(
        folder=folder,
        files=sorted(files, key=lambda f: f.path),
        configs=configs,
        card=card,
        marker=marker,
        include_drops=include_drops,
    )
