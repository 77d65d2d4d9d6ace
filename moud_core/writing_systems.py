"""Writing systems (``data/writing_systems.yaml``): for each ISO 15924 code of the language registry, the name
the prompts use and the Unicode scripts whose letters count as written in it. The one home of both."""

from __future__ import annotations

import functools
from pathlib import Path

from moud_core.errors import ConfigError
from moud_core.yamlio import load_yaml

WRITING_SYSTEMS_PATH = Path(__file__).parent / "data" / "writing_systems.yaml"


@functools.lru_cache(maxsize=1)
def _table() -> dict[str, dict]:
    data = load_yaml(WRITING_SYSTEMS_PATH)
    if not isinstance(data, dict):
        raise ConfigError(f"{WRITING_SYSTEMS_PATH}: expected a mapping of script code -> {{name, unicode}}")
    for code, entry in data.items():
        if not (isinstance(entry, dict) and isinstance(entry.get("name"), str) and entry.get("unicode")):
            raise ConfigError(
                f"{WRITING_SYSTEMS_PATH}: {code}: expected {{name: str, unicode: [script, ...]}}"
            )
    return data


def script_name(code: str) -> str:
    """What the prompts call script ``code`` (the code itself when the file does not list it)."""
    entry = _table().get(code)
    return entry["name"] if entry else code


def unicode_scripts(code: str) -> list[str] | None:
    """The Unicode script names whose letters are in script ``code``; None when the file does not list it."""
    entry = _table().get(code)
    return list(entry["unicode"]) if entry else None


def unicode_script_table() -> dict[str, list[str]]:
    """Script code -> Unicode script names, for every listed script."""
    return {code: list(entry["unicode"]) for code, entry in _table().items()}
