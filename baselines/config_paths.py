"""Paths inside a training or matrix config file are relative to the file's folder (not to where the command
runs), so the shipped ``baselines/configs/*.yaml`` run from any folder. Paths given on the command line stay
relative to the current folder."""

from __future__ import annotations

import os
from pathlib import Path


def _resolve(path: str, config_file: str | Path) -> str:
    p = Path(path).expanduser()
    return str(p) if p.is_absolute() else os.path.normpath(Path(config_file).resolve().parent / p)


def relative_to_file(value, config_file: str | Path, source: bool = False, maybe_hub: bool = False):
    """``value`` with its path made relative to ``config_file``'s folder.

    ``source``: a data source (``TYPE:PATH[@SPLIT]`` or ``{type, path, ...}``); ``maybe_hub``: a model that
    may also be a Hub id or a tiny model name, resolved only when it starts with ``.`` or exists there."""
    if source:
        if isinstance(value, dict) and isinstance(value.get("path"), str):
            return {**value, "path": _resolve(value["path"], config_file)}
        if isinstance(value, str) and ":" in value:
            kind, _, path = value.partition(":")
            return f"{kind}:{_resolve(path, config_file)}"
        return value
    if not isinstance(value, str):
        return value
    if maybe_hub and not value.startswith(".") and not (Path(config_file).resolve().parent / value).exists():
        return value
    return _resolve(value, config_file)
