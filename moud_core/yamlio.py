"""YAML loading with one-line errors that name the file and line."""

from __future__ import annotations

from pathlib import Path

import yaml

from moud_core.errors import ConfigError


def load_yaml(path: str | Path):
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror})") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        if mark is not None:
            raise ConfigError(f"{path}:{mark.line + 1}:{mark.column + 1}: invalid YAML: {problem}") from None
        raise ConfigError(f"{path}: invalid YAML: {problem}") from None
