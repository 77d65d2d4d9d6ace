"""Judge rubrics loaded from YAML (``eval/rubrics/default.yaml``): criteria with a 1-5 scale as data."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from moud_core.errors import ConfigError
from moud_core.schema import STEPS
from moud_core.yamlio import load_yaml

RUBRICS_DIR = Path(__file__).parent / "rubrics"
DEFAULT_RUBRIC = RUBRICS_DIR / "default.yaml"
ITEM_KINDS = STEPS  # a judged item is the output of one generation step
LEVELS = (1, 2, 3, 4, 5)
DIRECTIONS = ("higher_is_better", "lower_is_better")


@dataclass(frozen=True)
class Criterion:
    name: str
    description: str
    applies_to: tuple[str, ...]
    scale: dict[int, str]
    direction: str = "higher_is_better"
    focus: dict[str, str] = field(default_factory=dict)

    @property
    def higher_is_better(self) -> bool:
        return self.direction == "higher_is_better"

    def oriented(self, score: float) -> float:
        """Score on a higher-is-better axis (toxicity 1 -> 5)."""
        return score if self.higher_is_better else LEVELS[0] + LEVELS[-1] - score


@dataclass(frozen=True)
class Rubric:
    version: str
    criteria: tuple[Criterion, ...]
    source: str = ""

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.criteria]

    def get(self, name: str) -> Criterion:
        for c in self.criteria:
            if c.name == name:
                return c
        raise ConfigError(
            f"{self.source}: unknown criterion {name!r}; expected one of {', '.join(self.names)}"
        )

    def for_kind(self, kind: str) -> list[Criterion]:
        return [c for c in self.criteria if kind in c.applies_to]

    def fingerprint(self) -> str:
        payload = [
            self.version,
            [
                (
                    c.name,
                    c.description,
                    c.applies_to,
                    sorted(c.scale.items()),
                    c.direction,
                    sorted(c.focus.items()),
                )
                for c in self.criteria
            ],
        ]
        return hashlib.sha256(json.dumps(payload, ensure_ascii=False).encode("utf-8")).hexdigest()[:16]


def _text(value, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}: expected a non-empty string")
    return " ".join(value.split())


def _criterion(entry, where: str) -> Criterion:
    if not isinstance(entry, dict):
        raise ConfigError(f"{where}: expected a mapping with name, description, applies_to, scale")
    unknown = set(entry) - {"name", "description", "applies_to", "scale", "direction", "focus"}
    if unknown:
        raise ConfigError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    name = _text(entry.get("name"), f"{where}.name")
    where = f"{where} ({name})"
    description = _text(entry.get("description"), f"{where}.description")
    applies = entry.get("applies_to")
    if isinstance(applies, str):
        applies = [applies]
    if not isinstance(applies, list) or not applies or any(a not in ITEM_KINDS for a in applies):
        raise ConfigError(f"{where}.applies_to: expected a non-empty list drawn from {', '.join(ITEM_KINDS)}")
    scale = entry.get("scale")
    if not isinstance(scale, dict):
        raise ConfigError(f"{where}.scale: expected a mapping of levels 1-5 to descriptors")
    levels: dict[int, str] = {}
    for key, desc in scale.items():
        try:
            level = int(key)
        except (TypeError, ValueError):
            raise ConfigError(f"{where}.scale: level {key!r} is not an integer 1-5") from None
        if level not in LEVELS or str(level) != str(key).strip():
            raise ConfigError(f"{where}.scale: level {key!r} is outside 1-5")
        levels[level] = _text(desc, f"{where}.scale.{level}")
    missing = [str(lv) for lv in LEVELS if lv not in levels]
    if missing:
        raise ConfigError(
            f"{where}.scale: missing level(s) {', '.join(missing)}; expected a descriptor for each of 1-5"
        )
    direction = entry.get("direction", "higher_is_better")
    if direction not in DIRECTIONS:
        raise ConfigError(f"{where}.direction: expected one of {', '.join(DIRECTIONS)}, got {direction!r}")
    focus = entry.get("focus") or {}
    if not isinstance(focus, dict) or any(k not in applies for k in focus):
        raise ConfigError(
            f"{where}.focus: expected a mapping whose keys are among applies_to ({', '.join(applies)})"
        )
    return Criterion(
        name,
        description,
        tuple(applies),
        dict(sorted(levels.items())),
        direction,
        {k: _text(v, f"{where}.focus.{k}") for k, v in focus.items()},
    )


def load_rubric(path: str | Path | None = None) -> Rubric:
    """Load and validate a rubric; errors name the file and the offending field."""
    src = Path(path) if path else DEFAULT_RUBRIC
    data = load_yaml(src)
    if not isinstance(data, dict):
        raise ConfigError(f"{src}: expected a mapping with 'version' and 'criteria'")
    version = _text(data.get("version"), f"{src}: version")
    entries = data.get("criteria")
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f"{src}: criteria: expected a non-empty list")
    criteria: list[Criterion] = []
    seen: set[str] = set()
    for i, entry in enumerate(entries):
        crit = _criterion(entry, f"{src}: criteria[{i}]")
        if crit.name in seen:
            raise ConfigError(f"{src}: criteria[{i}].name: duplicate criterion {crit.name!r}")
        seen.add(crit.name)
        criteria.append(crit)
    return Rubric(version, tuple(criteria), str(src))
