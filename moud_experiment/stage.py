"""One stage of an experiment (``Stage``) and the generated config files stages name."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from moud_core.atomic import atomic_write_text


@dataclass
class Stage:
    name: str
    command: str | None  # a moud command, or None for an in-process step (``action``)
    out: Path
    argv: list[str] = field(default_factory=list)
    inputs: tuple[str, ...] = ()
    files: tuple[Path, ...] = ()  # generated configs and external inputs, fingerprinted by content
    resumable: bool = False  # the command resumes a partial output itself (generate, judge): keep it
    skip_reason: str | None = None
    action: str | None = None  # name of an in-process step (moud_experiment.steps)


def write_config(path: Path, data: dict) -> Path:
    """A generated config (JSON, which YAML readers read), rewritten only when its content changes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        atomic_write_text(path, text)
    return path


def json_or_empty(path: Path) -> dict:
    """The JSON object in ``path``; {} when the file is absent or unreadable (a stage not run, or cut off)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
