"""The dataset card's YAML front matter and its `configs:` list, as the Hub reads them."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from moud_core.errors import MoudError


class FolderError(MoudError):
    """The folder is not an uploadable ``moud build`` output (raised before any network request)."""


@dataclass
class ConfigSpec:
    name: str
    splits: dict[str, list[str]]  # split -> glob patterns
    default: bool = False
    files: dict[str, list[str]] = field(default_factory=dict)  # split -> matched local paths
    rows: dict[str, int] = field(default_factory=dict)  # split -> rows (Parquet footers)


def read_card_yaml(card_path: Path) -> dict:
    """The YAML front matter of a dataset card, as a dict (clear errors with file:line)."""
    try:
        text = card_path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise FolderError(f"{card_path}: not UTF-8 text ({exc.reason})") from None
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        raise FolderError(
            f"{card_path}:1: no YAML front matter (expected a first line '---'); not a `moud build` folder"
        )
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


def glob_regex(pattern: str) -> re.Pattern:
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
                elif (
                    isinstance(item, dict)
                    and isinstance(item.get("split"), str)
                    and isinstance(item.get("path"), (str, list))
                ):
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
                    raise FolderError(
                        f"{where} ({name}) split {split!r}: path {pattern!r} must be relative "
                        "and inside the folder"
                    )
        specs.append(ConfigSpec(name=name, splits=dict(splits), default=bool(entry.get("default", False))))
    if sum(s.default for s in specs) > 1:
        raise FolderError(f"{card_path}: more than one config has `default: true`")
    return specs
