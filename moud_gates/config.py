"""Filter configuration: packaged defaults (data/filters.yaml) merged with a user file, resolved per
language. The top level is a typed ``FilterSettings``; each gate's section is checked by the gate's own
``Params`` (a frozen dataclass in its module: types, ranges, rules across fields) when the file loads, so a
typo or a bad value fails at once, naming the file and the key."""

from __future__ import annotations

import copy
import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from moud_core.config_merge import merge_settings
from moud_core.errors import ConfigError
from moud_core.languages import Language
from moud_core.typed_config import build
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


@dataclass(frozen=True)
class FilterSettings:
    """The top level of a filter config; the gate sections (``defaults``, ``scripts.<script>``,
    ``languages.<code>``, ``inline``) are mappings of gate -> settings, checked by ``gate_params``."""

    gates: tuple[str, ...]
    lid_model: str | None
    lid_labels: Literal["fasttext", "glotlid"]
    defaults: dict[str, dict[str, Any]]
    scripts: dict[str, dict[str, dict[str, Any]]]
    languages: dict[str, dict[str, dict[str, Any]]]
    lid_backend: Literal["auto", "numpy", "fasttext"] = "auto"
    inline: dict[str, dict[str, Any]] = field(default_factory=dict)

    def check(self, need) -> None:
        from moud_gates.builtin import GATES

        need(all(g in GATES for g in self.gates), "gates", f"a list of names from {', '.join(sorted(GATES))}")


def gate_params(settings: dict, where: str) -> dict:
    """{gate: its typed ``Params``} of one section's resolved settings (gates without ``Params`` keep their
    mapping); a bad value is a ConfigError naming ``where`` and the dotted key (``script.min_share``)."""
    from moud_gates.builtin import GATES

    out = {}
    for name, params in settings.items():
        typed = getattr(GATES.get(name), "Params", None)
        out[name] = build(typed, params, where, prefix=f"{name}.") if typed is not None else params
    return out


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
            _check_packaged()
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

    def validate(self) -> FilterSettings:
        """The typed top level; each section (laid over ``defaults``) is checked by the gates' ``Params``."""
        settings = build(FilterSettings, self.raw, self.source)
        defaults = self.raw["defaults"]
        gate_params(defaults, f"{self.source}: defaults")
        sections = [("inline", self.raw.get("inline") or {})]
        sections += [
            (f"{k}.{code}", over) for k in ("scripts", "languages") for code, over in self.raw[k].items()
        ]
        for name, over in sections:
            where = f"{self.source}: {name}"
            gate_params(_merge(defaults, over, where, defaults), where)
        return settings

    @property
    def gates(self) -> list[str]:
        return list(self.raw["gates"])

    def for_language(self, lang: Language, inline: bool = False) -> dict[str, dict]:
        """Per-gate settings: defaults < scripts[lang.script] < languages[lang.code] (< ``inline``, for the
        checks made while generating: rejecting an output there costs one regeneration, not a dialogue)."""
        if inline:
            key = ("inline", lang.code)
            if key not in self._cache:
                merged = _merge(
                    self.for_language(lang),
                    self.raw.get("inline") or {},
                    f"{self.source}: inline",
                    self.raw["defaults"],
                )
                gate_params(merged, f"{self.source}: the inline settings of language {lang.code}")
                self._cache[key] = merged
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
            gate_params(merged, f"{where}: the settings of language {lang.code}")
            self._cache[lang.code] = merged
        return self._cache[lang.code]

    def params(self, lang: Language, inline: bool = False) -> dict:
        """``for_language`` as each gate's typed ``Params`` (gates read the mapping: faster per text)."""
        key = ("params", inline, lang.code)
        if key not in self._cache:
            self._cache[key] = gate_params(self.for_language(lang, inline), f"{self.source}: {lang.code}")
        return self._cache[key]

    def to_dict(self) -> dict:
        return copy.deepcopy(self.raw)


@functools.lru_cache(maxsize=1)
def _check_packaged() -> None:
    """The packaged file is checked (once per process) like a user's."""
    FilterConfig(copy.deepcopy(_packaged())).validate()
