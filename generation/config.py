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
from dataclasses import dataclass, field
from pathlib import Path

from generation.output_checks import TRUNCATION_POLICIES
from moud_core.backends.base import SamplingParams
from moud_core.config_merge import merge_settings
from moud_core.errors import ConfigError
from moud_core.yamlio import load_yaml

DEFAULTS: dict = {
    "languages": ["fr"],
    "dialogues_per_language": 10,
    "seed": 0,
    "backend": "openai",
    "model": "meta-llama/Llama-3.1-8B-Instruct",
    "backend_options": {},
    "prompt_version": "moud-prompts-v1",
    "languages_file": None,
    "demos": None,
    "num_demos": 3,
    "concurrency": 256,
    "shard_size": 1000,
    "cache": True,
    "filter": False,
    "filter_config": None,
    "inline_gates": True,
    "gate_process": True,
    "on_truncated": "trim",
    "persona": {
        "sentences": 5,
        "min_sentences": 4,
        "max_attempts": 3,
        "sampling": {"temperature": 0.9, "top_p": 0.95, "max_tokens": 320},
    },
    "common_ground": {"max_attempts": 3, "sampling": {"temperature": 0.8, "top_p": 0.95, "max_tokens": 320}},
    "dialogue": {
        "min_turns": 12,
        "max_turns": 16,
        "max_attempts": 5,
        "loop_window": 4,
        "sampling": {"temperature": 0.8, "top_p": 0.95, "max_tokens": 160, "frequency_penalty": 0.3},
    },
}

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
    data: dict
    source: str = "<defaults>"
    demos_digest: str = ""
    gates_digest: str = ""  # the filter config's content, when inline gates use it
    sampling: dict = field(default_factory=dict)
    origins: dict = field(default_factory=dict)  # dotted field -> the file or "command line" that set it

    def __getitem__(self, key):
        return self.data[key]

    def origin(self, dotted: str) -> str:
        """Where a field's value came from (the most specific source that set it or a parent of it)."""
        while dotted:
            if dotted in self.origins:
                return self.origins[dotted]
            dotted = dotted.rpartition(".")[0]
        return "defaults"

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
    d = cfg.data

    def need(cond: bool, field_name: str, expected: str):
        if not cond:
            value = d
            for part in field_name.split("."):
                value = value.get(part) if isinstance(value, dict) else None
            raise ConfigError(
                f"{cfg.origin(field_name)}: field {field_name!r}: expected {expected}, got {value!r}"
            )

    need(
        isinstance(d["dialogues_per_language"], int) and d["dialogues_per_language"] >= 0,
        "dialogues_per_language",
        "an integer >= 0",
    )
    need(isinstance(d["seed"], int), "seed", "an integer")
    need(isinstance(d["concurrency"], int) and d["concurrency"] >= 1, "concurrency", "an integer >= 1")
    need(isinstance(d["shard_size"], int) and d["shard_size"] >= 1, "shard_size", "an integer >= 1")
    need(isinstance(d["model"], str) and d["model"], "model", "a model name or path")
    need(isinstance(d["num_demos"], int) and d["num_demos"] >= 0, "num_demos", "an integer >= 0")
    need(isinstance(d["inline_gates"], bool), "inline_gates", "true or false")
    need(isinstance(d["gate_process"], bool), "gate_process", "true or false")
    need(d["on_truncated"] in TRUNCATION_POLICIES, "on_truncated", " or ".join(TRUNCATION_POLICIES))
    p, dl = d["persona"], d["dialogue"]
    need(isinstance(p["sentences"], int) and p["sentences"] >= 1, "persona.sentences", "an integer >= 1")
    need(
        isinstance(p["min_sentences"], int) and 1 <= p["min_sentences"] <= p["sentences"],
        "persona.min_sentences",
        "an integer between 1 and persona.sentences",
    )
    need(isinstance(dl["min_turns"], int) and dl["min_turns"] >= 2, "dialogue.min_turns", "an integer >= 2")
    need(
        isinstance(dl["max_turns"], int) and dl["max_turns"] >= dl["min_turns"],
        "dialogue.max_turns",
        "an integer >= dialogue.min_turns",
    )
    for step in ("persona", "common_ground", "dialogue"):
        need(
            isinstance(d[step]["max_attempts"], int) and d[step]["max_attempts"] >= 1,
            f"{step}.max_attempts",
            "an integer >= 1",
        )
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
