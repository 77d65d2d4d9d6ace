"""Filter configuration: packaged defaults (data/filters.yaml) merged with a user file, resolved per
language."""

from __future__ import annotations

import copy
import functools
from dataclasses import dataclass, field
from pathlib import Path

from moud_core.config_merge import merge_settings
from moud_core.errors import ConfigError
from moud_core.languages import Language
from moud_core.yamlio import load_yaml
from moud_gates.data_dir import DATA_DIR

DEFAULT_CONFIG_PATH = DATA_DIR / "filters.yaml"
TOP_KEYS = {"gates", "lid_model", "lid_labels", "lid_backend", "defaults", "scripts", "languages", "inline"}


@functools.lru_cache(maxsize=1)
def _packaged() -> dict:
    return load_yaml(DEFAULT_CONFIG_PATH)


def _merge(base: dict, over: dict, where: str, schema: dict) -> dict:
    """``over`` laid over ``base`` field by field; unknown keys and values of the wrong kind are errors."""
    return merge_settings(base, over, where, schema)


@dataclass
class FilterConfig:
    """The merged configuration; ``for_language`` returns the resolved per-gate settings of one language."""

    raw: dict
    source: str = str(DEFAULT_CONFIG_PATH)
    _cache: dict = field(default_factory=dict, repr=False)

    @classmethod
    def load(cls, path: str | Path | None = None) -> FilterConfig:
        base = _packaged()
        if path is None:
            return cls(copy.deepcopy(base))
        user = load_yaml(path)
        if user is None:
            user = {}
        if not isinstance(user, dict):
            raise ConfigError(f"{path}: expected a mapping with keys {', '.join(sorted(TOP_KEYS))}")
        for key in user:
            if key not in TOP_KEYS:
                raise ConfigError(
                    f"{path}: unknown key {key!r}; expected one of {', '.join(sorted(TOP_KEYS))}"
                )
        raw = copy.deepcopy(base)
        schema = base["defaults"]
        for key in ("gates", "lid_model", "lid_labels", "lid_backend"):
            if key in user:
                raw[key] = user[key]
        raw["defaults"] = _merge(base["defaults"], user.get("defaults") or {}, f"{path}: defaults", schema)
        raw["inline"] = _merge(base.get("inline") or {}, user.get("inline") or {}, f"{path}: inline", schema)
        for section in ("scripts", "languages"):
            entries = user.get(section) or {}
            if not isinstance(entries, dict):
                raise ConfigError(f"{path}: {section}: expected a mapping of code -> settings")
            for code, over in entries.items():
                if not isinstance(over, dict):
                    raise ConfigError(f"{path}: {section}.{code}: expected a mapping of gate -> settings")
                raw[section][code] = _merge(
                    raw[section].get(code, {}), over, f"{path}: {section}.{code}", schema
                )
        cfg = cls(raw, str(path))
        cfg.validate()
        return cfg

    def validate(self) -> None:
        from moud_gates.builtin import GATES

        gates = self.raw.get("gates")
        if not isinstance(gates, list) or any(g not in GATES for g in gates):
            raise ConfigError(
                f"{self.source}: gates: expected a list of names from {', '.join(GATES)}, got {gates!r}"
            )
        if self.raw.get("lid_labels") not in ("fasttext", "glotlid"):
            raise ConfigError(
                f"{self.source}: lid_labels: expected 'fasttext' or 'glotlid', "
                f"got {self.raw.get('lid_labels')!r}"
            )
        if self.raw.get("lid_backend", "auto") not in ("auto", "numpy", "fasttext"):
            raise ConfigError(
                f"{self.source}: lid_backend: expected 'auto', 'numpy' or 'fasttext', "
                f"got {self.raw.get('lid_backend')!r}"
            )

    @property
    def gates(self) -> list[str]:
        return list(self.raw["gates"])

    def for_language(self, lang: Language, inline: bool = False) -> dict[str, dict]:
        """Per-gate settings: defaults < scripts[lang.script] < languages[lang.code] (< ``inline``, for the
        checks made while generating: rejecting an output there costs one regeneration, not a dialogue)."""
        if inline:
            key = ("inline", lang.code)
            if key not in self._cache:
                self._cache[key] = _merge(
                    self.for_language(lang),
                    self.raw.get("inline") or {},
                    f"{self.source}: inline",
                    self.raw["defaults"],
                )
            return self._cache[key]
        if lang.code not in self._cache:
            schema = self.raw["defaults"]
            where = f"{self.source}"
            merged = _merge(
                schema, self.raw["scripts"].get(lang.script, {}), f"{where}: scripts.{lang.script}", schema
            )
            merged = _merge(
                merged, self.raw["languages"].get(lang.code, {}), f"{where}: languages.{lang.code}", schema
            )
            dd = merged["dedup"]
            if dd["num_perm"] % dd["bands"]:
                raise ConfigError(
                    f"{where}: dedup.num_perm ({dd['num_perm']}) must be divisible by dedup.bands "
                    f"({dd['bands']}) for language {lang.code}"
                )
            self._cache[lang.code] = merged
        return self._cache[lang.code]

    def to_dict(self) -> dict:
        return copy.deepcopy(self.raw)
