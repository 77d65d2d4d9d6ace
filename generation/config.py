"""Run configuration: YAML file + CLI overrides -> validated ``RunConfig`` with a fingerprint.

The fingerprint covers every field that changes what a given dialogue index produces (seed, model,
backend, prompts, demonstrations, step settings, inline gates and their filter config, truncation
policy). It deliberately excludes what only changes *how much* or *how fast* (languages, dialogues per
language, concurrency, endpoints), so a run can be extended with more dialogues or languages and still
mix safely with its earlier output.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from generation.output_checks import TRUNCATION_POLICIES
from moud_core.backends.base import SamplingParams
from moud_core.config_merge import merge_settings
from moud_core.errors import ConfigError
from moud_core.languages import select_languages
from moud_core.schema import STEPS
from moud_core.typed_config import at_least, build, source_of, to_dict
from moud_core.yamlio import load_yaml


def _sampling(**values) -> Callable[[], dict]:
    return lambda: dict(values)


@dataclass(frozen=True)
class PersonaSettings:
    sentences: int = field(default=5, metadata=at_least(1))
    min_sentences: int = 4
    max_attempts: int = field(default=3, metadata=at_least(1))
    sampling: dict[str, Any] = field(default_factory=_sampling(temperature=0.9, top_p=0.95, max_tokens=320))

    def check(self, need) -> None:
        need(
            1 <= self.min_sentences <= self.sentences,
            "min_sentences",
            "an integer between 1 and persona.sentences",
        )


@dataclass(frozen=True)
class CommonGroundSettings:
    max_attempts: int = field(default=3, metadata=at_least(1))
    sampling: dict[str, Any] = field(default_factory=_sampling(temperature=0.8, top_p=0.95, max_tokens=320))


@dataclass(frozen=True)
class DialogueSettings:
    min_turns: int = field(default=12, metadata=at_least(2))
    max_turns: int = 16
    max_attempts: int = field(default=5, metadata=at_least(1))
    loop_window: int = 4
    sampling: dict[str, Any] = field(
        default_factory=_sampling(temperature=0.8, top_p=0.95, max_tokens=160, frequency_penalty=0.3)
    )

    def check(self, need) -> None:
        need(self.max_turns >= self.min_turns, "max_turns", "an integer >= dialogue.min_turns")


@dataclass(frozen=True)
class RunSettings:
    """The run config's fields, typed (defaults here; a YAML file and flags are laid over them)."""

    languages: str | tuple[str, ...] = ("fr",)  # codes, "fr,ja" or "all" (every registered language)
    dialogues_per_language: int = field(default=10, metadata=at_least(0))
    seed: int = 0
    backend: str = "openai"
    model: str = "meta-llama/Llama-3.1-8B-Instruct"
    backend_options: dict[str, Any] = field(default_factory=dict)  # checked by the backend factory
    prompt_version: str = "moud-prompts-v1"
    languages_file: str | None = None
    demos: str | None = None
    num_demos: int = field(default=3, metadata=at_least(0))
    concurrency: int = field(default=256, metadata=at_least(1))
    shard_size: int = field(default=1000, metadata=at_least(1))
    cache: bool = True
    filter: bool = False
    filter_config: str | None = None
    inline_gates: bool = True
    gate_process: bool = True
    on_truncated: Literal[TRUNCATION_POLICIES] = "trim"
    persona: PersonaSettings = field(default_factory=PersonaSettings)
    common_ground: CommonGroundSettings = field(default_factory=CommonGroundSettings)
    dialogue: DialogueSettings = field(default_factory=DialogueSettings)

    def check(self, need) -> None:
        need(bool(self.model), "model", "a model name or path")


DEFAULTS: dict = to_dict(RunSettings())

# Keys that do not change the content of dialogue i (see module docstring).
NOT_FINGERPRINTED = frozenset(
    {
        "languages",
        "dialogues_per_language",
        "concurrency",
        "backend_options",
        "cache",
        "filter",
        "filter_config",
        "languages_file",
        "gate_process",
    }
)
OPEN_KEYS = ("backend_options", "sampling")  # free-form mappings, checked by their owners
_SCHEMA = {**DEFAULTS, "languages": None}  # a list or a comma-separated string


@dataclass
class RunConfig:
    """The merged run config: ``settings`` (typed) and ``data`` (its dict, as manifests record it)."""

    data: dict
    source: str = "<defaults>"
    demos_digest: str = ""
    gates_digest: str = ""  # the filter config's content, when inline gates use it
    sampling: dict = field(default_factory=dict)
    origins: dict = field(default_factory=dict)  # dotted field -> the file or "command line" that set it
    settings: RunSettings = field(default_factory=RunSettings)

    def __getitem__(self, key):
        return self.data[key]

    def origin(self, dotted: str) -> str:
        """Where a field's value came from (the most specific source that set it or a parent of it)."""
        return source_of(self.origins, dotted, "defaults")

    @property
    def fingerprint(self) -> str:
        content = {k: v for k, v in self.data.items() if k not in NOT_FINGERPRINTED}
        content["demos"] = self.demos_digest or content.get("demos")
        if self.data["inline_gates"] and self.data["filter_config"]:
            content["filter_config"] = self.gates_digest  # the gate thresholds change what is accepted
        blob = json.dumps(content, sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]

    def to_dict(self) -> dict:
        return copy.deepcopy(self.data)

    def language_codes(self, registry: dict) -> list[str]:
        """The run's languages; 'all' means every registered language (``languages_file`` ones included)."""
        origin = self.origin("languages")
        where = "--languages" if origin == "command line" else f"{origin}: field 'languages'"
        return select_languages(
            self.data["languages"], all_means="registered", registry=registry, where=where
        )


def changed_fields(old: dict, new: dict, prefix: str = "") -> list[str]:
    """Dotted names of the fingerprinted fields that differ between two config dicts."""
    out = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if not prefix and key in NOT_FINGERPRINTED:
            continue
        if isinstance(a, dict) and isinstance(b, dict):
            out.extend(changed_fields(a, b, f"{prefix}{key}."))
        elif a != b:
            out.append(prefix + key)
    return out


def load_run_config(path: str | None = None, overrides: dict | None = None) -> RunConfig:
    """Defaults, then the YAML file, then command-line overrides, each laid over field by field."""
    data, origins = copy.deepcopy(DEFAULTS), {}
    source = "<defaults>"
    if path:
        loaded = load_yaml(path)
        if loaded is None:
            loaded = {}
        if not isinstance(loaded, dict):
            raise ConfigError(f"{path}: expected a mapping of run settings at the top level")
        data = merge_settings(data, loaded, str(path), _SCHEMA, OPEN_KEYS, origins=origins)
        source = str(path)
    if overrides:
        data = merge_settings(data, overrides, "command line", _SCHEMA, OPEN_KEYS, origins=origins)
    return _validate(RunConfig(data, source, origins=origins))


def _validate(cfg: RunConfig) -> RunConfig:
    cfg.settings = build(RunSettings, cfg.data, "defaults", origins=cfg.origins)
    d = cfg.data = to_dict(cfg.settings)
    for step in STEPS:
        cfg.sampling[step] = SamplingParams.from_dict(
            d[step]["sampling"], f"{cfg.origin(step + '.sampling')}: {step}.sampling"
        )
    if d["demos"]:
        demos_path = Path(d["demos"])
        if not demos_path.is_file():
            raise ConfigError(f"{cfg.origin('demos')}: field 'demos': file not found: {demos_path}")
        cfg.demos_digest = hashlib.sha256(demos_path.read_bytes()).hexdigest()[:16]
    if d["inline_gates"] and d["filter_config"]:
        gates_path = Path(d["filter_config"])
        if not gates_path.is_file():
            raise ConfigError(
                f"{cfg.origin('filter_config')}: field 'filter_config': file not found: {gates_path}"
            )
        cfg.gates_digest = hashlib.sha256(gates_path.read_bytes()).hexdigest()[:16]
    return cfg
