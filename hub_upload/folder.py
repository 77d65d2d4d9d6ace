"""Validate a ``moud build`` folder before anything is sent: card YAML, configs vs files, stray files,
Parquet footers, and ``load_dataset`` of every config (offline, cache in a temp dir)."""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from hub_upload.local_files import LocalFile
from hub_upload.settings import load_settings
from moud_core.dataset_layout import BUILD_MARKER, CARD, DATA_FILE_RE, DROPS_FILE_RE
from moud_core.errors import MoudError


class FolderError(MoudError):
    """The folder is not an uploadable ``moud build`` output (raised before any network request)."""


@dataclass
class ConfigSpec:
    name: str
    splits: dict[str, list[str]]          # split -> glob patterns
    default: bool = False
    files: dict[str, list[str]] = field(default_factory=dict)   # split -> matched local paths
    rows: dict[str, int] = field(default_factory=dict)          # split -> rows (Parquet footers)


@dataclass
class FolderPlan:
    folder: Path
    files: list[LocalFile]                 # everything that will be uploaded, sorted by path
    configs: list[ConfigSpec]
    card: LocalFile
    marker: LocalFile | None
    include_drops: bool

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)

    def managed_prefixes(self) -> list[str]:
        settings = load_settings()
        return list(settings["managed_prefixes"]) + (
            list(settings["managed_prefixes_with_drops"]) if self.include_drops else [])


def read_card_yaml(card_path: Path) -> dict:
    """The YAML front matter of a dataset card, as a dict (clear errors with file:line)."""
    try:
        text = card_path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise FolderError(f"{card_path}: not UTF-8 text ({exc.reason})") from None
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        raise FolderError(f"{card_path}:1: no YAML front matter (expected a first line '---'); "
                          "not a `moud build` folder")
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].strip() == "---")
    except StopIteration:
        raise FolderError(f"{card_path}: YAML front matter is not closed by a '---' line") from None
    try:
        meta = yaml.safe_load("\n".join(lines[1:end]))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 2}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise FolderError(f"{card_path}{where}: invalid YAML front matter ({problem})") from None
    if not isinstance(meta, dict):
        raise FolderError(f"{card_path}: YAML front matter must be a mapping, got {type(meta).__name__}")
    return meta


def _glob_regex(pattern: str) -> re.Pattern:
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("^" + "".join(out) + "$")


def parse_configs(meta: dict, card_path: Path) -> list[ConfigSpec]:
    configs = meta.get("configs")
    if not isinstance(configs, list) or not configs:
        raise FolderError(f"{card_path}: YAML front matter has no `configs:` list; not a `moud build` folder")
    specs, seen = [], set()
    for i, entry in enumerate(configs):
        where = f"{card_path}: configs[{i}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("config_name"), str):
            raise FolderError(f"{where}: expected a mapping with a string `config_name`")
        name = entry["config_name"]
        if name in seen:
            raise FolderError(f"{where}: duplicate config_name {name!r}")
        seen.add(name)
        data_files = entry.get("data_files")
        splits: dict[str, list[str]] = defaultdict(list)
        if isinstance(data_files, str):
            splits["train"].append(data_files)
        elif isinstance(data_files, list) and data_files:
            for j, item in enumerate(data_files):
                if isinstance(item, str):
                    splits["train"].append(item)
                elif isinstance(item, dict) and isinstance(item.get("split"), str) and isinstance(
                        item.get("path"), (str, list)):
                    paths = [item["path"]] if isinstance(item["path"], str) else item["path"]
                    if not all(isinstance(p, str) for p in paths):
                        raise FolderError(f"{where} ({name}).data_files[{j}].path: expected strings")
                    splits[item["split"]].extend(paths)
                else:
                    raise FolderError(f"{where} ({name}).data_files[{j}]: expected {{split: ..., path: ...}}")
        else:
            raise FolderError(f"{where} ({name}): expected a non-empty `data_files` list")
        for split, patterns in splits.items():
            for pattern in patterns:
                if pattern.startswith("/") or ".." in pattern.split("/") or "://" in pattern:
                    raise FolderError(f"{where} ({name}) split {split!r}: path {pattern!r} must be relative "
                                      "and inside the folder")
        specs.append(ConfigSpec(name=name, splits=dict(splits), default=bool(entry.get("default", False))))
    if sum(s.default for s in specs) > 1:
        raise FolderError(f"{card_path}: more than one config has `default: true`")
    return specs


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
            raise FolderError(f"{abs_path}: symbolic links are not uploaded (they may point outside the folder)")
        if rel in (CARD, BUILD_MARKER) or DATA_FILE_RE.match(rel):
            keep.append(LocalFile(rel, abs_path, abs_path.stat().st_size))
        elif include_drops and DROPS_FILE_RE.match(rel):
            keep.append(LocalFile(rel, abs_path, abs_path.stat().st_size))
        else:
            stray.append(rel)
    if stray:
        hint = " (drops/ needs --include-drops)" if any(s.startswith("drops/") for s in stray) else ""
        shown = ", ".join(stray[:5]) + (f" and {len(stray) - 5} more" if len(stray) > 5 else "")
        raise FolderError(f"{folder}: {len(stray)} file(s) are not part of a `moud build` dataset{hint}: {shown}; "
                          f"expected only {CARD}, {BUILD_MARKER} and "
                          "data/<config>/<split>-NNNNN-of-NNNNN.parquet")
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
            raise FolderError(f"{folder}/data/{config}: {split} shards disagree on the shard count "
                              f"({', '.join(p for _, _, p in shards)})")
        count = counts.pop()
        missing = sorted(set(range(count)) - {i for i, _, _ in shards})
        if missing:
            raise FolderError(f"{folder}/data/{config}: {split} shard(s) {missing[:5]} of {count} are missing")


def _check_marker(marker: LocalFile, by_path: dict[str, LocalFile]) -> None:
    try:
        info = json.loads(marker.abs_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FolderError(f"{marker.abs_path}: invalid JSON ({exc})") from None
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
            raise FolderError(f"{local.abs_path}: size {local.size} differs from {meta['size']} recorded in "
                              f"{marker.path} (edited after the build?)")
        if isinstance(meta, dict) and "sha256" in meta and meta["sha256"] != local.sha256:
            raise FolderError(f"{local.abs_path}: sha256 differs from the one recorded in {marker.path} "
                              "(edited after the build?)")


def _check_parquet(folder: Path, configs: list[ConfigSpec], by_path: dict[str, LocalFile]) -> None:
    import pyarrow.parquet as pq

    schemas, footers = {}, {}
    for path in sorted(p for p in by_path if p.endswith(".parquet")):
        try:
            meta = pq.read_metadata(by_path[path].abs_path)
        except Exception as exc:  # pyarrow raises several types for corrupt files
            raise FolderError(f"{by_path[path].abs_path}: not a readable Parquet file ({exc})") from None
        footers[path] = meta.num_rows
        schemas[path] = meta.schema.to_arrow_schema().remove_metadata()
    for spec in configs:
        first = None
        for split, paths in spec.files.items():
            spec.rows[split] = sum(footers[p] for p in paths)
            for p in paths:
                if first is None:
                    first = p
                elif not schemas[p].equals(schemas[first]):
                    raise FolderError(f"{folder}/{p}: Parquet schema differs from {first} in config {spec.name!r}")


@contextlib.contextmanager
def _offline_datasets(progress: bool):
    """Force offline mode for ``datasets``/``huggingface_hub`` while checking local loads."""
    import datasets
    import datasets.config
    import huggingface_hub.constants as hf_constants

    saved = (datasets.config.HF_HUB_OFFLINE, datasets.config.HF_DATASETS_OFFLINE, hf_constants.HF_HUB_OFFLINE)
    bars = datasets.is_progress_bar_enabled()
    datasets.config.HF_HUB_OFFLINE = datasets.config.HF_DATASETS_OFFLINE = hf_constants.HF_HUB_OFFLINE = True
    if not progress:
        datasets.disable_progress_bars()
    try:
        yield
    finally:
        datasets.config.HF_HUB_OFFLINE, datasets.config.HF_DATASETS_OFFLINE, hf_constants.HF_HUB_OFFLINE = saved
        if bars:
            datasets.enable_progress_bars()


def check_loads(folder: Path, configs: list[ConfigSpec], full: bool = False, progress: bool = False) -> None:
    """``load_dataset(folder, config)`` for every config: streaming (first row of every split), or with
    ``full`` a complete load into a temporary cache whose row counts must match the Parquet footers."""
    import datasets

    with tempfile.TemporaryDirectory(prefix="moud-upload-check-") as cache, _offline_datasets(progress):
        for spec in configs:
            try:
                if full:
                    ds = datasets.load_dataset(str(folder), spec.name, cache_dir=cache)
                    for split, expected in spec.rows.items():
                        if split not in ds or ds[split].num_rows != expected:
                            got = ds[split].num_rows if split in ds else "no split"
                            raise FolderError(f"{folder}: config {spec.name!r} split {split!r} loads {got} rows, "
                                              f"Parquet files hold {expected}")
                else:
                    ds = datasets.load_dataset(str(folder), spec.name, cache_dir=cache, streaming=True)
                    for split in spec.splits:
                        if split not in ds:
                            raise FolderError(f"{folder}: config {spec.name!r} has no split {split!r} when loaded")
                        next(iter(ds[split]), None)
            except FolderError:
                raise
            except Exception as exc:
                msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                raise FolderError(f"{folder}: load_dataset(..., {spec.name!r}) fails: {msg}") from None


def validate_folder(folder: str | Path, include_drops: bool = False, full_check: bool = False,
                    load_check: bool = True, progress: bool = False) -> FolderPlan:
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
                rx = _glob_regex(pattern)
                hits = [p for p in data_paths if rx.match(p)]
                if not hits:
                    raise FolderError(f"{card.abs_path}: config {spec.name!r} split {split!r} path {pattern!r} "
                                      "matches no file in the folder")
                matched.extend(hits)
            spec.files[split] = sorted(set(matched))
            covered.update(matched)
    orphans = sorted(set(data_paths) - covered)
    if orphans:
        raise FolderError(f"{folder}/{orphans[0]}: not referenced by any config in {card.path}"
                          + (f" ({len(orphans) - 1} more)" if len(orphans) > 1 else ""))
    names = {spec.name for spec in configs}
    unnamed = sorted({p.split("/")[1] for p in data_paths} - names)
    if unnamed:
        raise FolderError(f"{folder}/data/{unnamed[0]}: no config named {unnamed[0]!r} in {card.path} "
                          "(every data/<config>/ folder needs its own config)")
    _check_shard_sets(folder, data_paths)
    if marker is not None:
        _check_marker(marker, by_path)
    _check_parquet(folder, configs, by_path)
    if load_check:
        check_loads(folder, configs, full=full_check, progress=progress)
    return FolderPlan(folder=folder, files=sorted(files, key=lambda f: f.path), configs=configs, card=card,
                      marker=marker, include_drops=include_drops)
