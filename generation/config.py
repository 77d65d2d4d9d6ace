"""Run configuration: YAML file + CLI overrides -> validated ``RunConfig`` with a fingerprint.

The fingerprint covers every field that changes what a given dialogue index produces (seed, model,
backend, prompts, demonstrations, step settings, inline gates and their filter config, truncation policy). It deliberately excludes what only changes *how
much* or *how fast* (languages, dialogues per language, concurrency, endpoints), so a run can be
extended with more dialogues or languages and still mix safely with its earlier output.
"""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from generation.output_checks import TRUNCATION_POLICIES
from moud_core.backends.base import SamplingParams
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
    "on_truncated": "trim",
    "persona": {"sentences": 5, "min_sentences": 4, "max_attempts": 3,
                "sampling": {"temperature": 0.9, "top_p": 0.95, "max_tokens": 320}},
    "common_ground": {"max_attempts": 3,
                      "sampling": {"temperature": 0.8, "top_p": 0.95, "max_tokens": 320}},
    "dialogue": {"min_turns": 12, "max_turns": 16, "max_attempts": 5, "loop_window": 4,
                 "sampling": {"temperature": 0.8, "top_p": 0.95, "max_tokens": 160,
                              "frequency_penalty": 0.3}},
}

# Keys that do not change the content of dialogue i (see module docstring).
_NOT_FINGERPRINTED = {"languages", "dialogues_per_language", "concurrency", "backend_options", "cache",
                      "filter", "filter_config", "languages_file"}
_STEP_KEYS = {"persona": {"sentences", "min_sentences", "max_attempts", "sampling"},
              "common_ground": {"max_attempts", "sampling"},
              "dialogue": {"min_turns", "max_turns", "max_attempts", "loop_window", "sampling"}}


@dataclass
class RunConfig:
    data: dict
    source: str = "<defaults>"
    demos_digest: str = ""
    gates_digest: str = ""      # the filter config's content, when inline gates use it
    sampling: dict = field(default_factory=dict)

    def __getitem__(self, key):
        return self.data[key]

    @property
    def fingerprint(self) -> str:
        content = {k: v for k, v in self.data.items() if k not in _NOT_FINGERPRINTED}
        content["demos"] = self.demos_digest or content.get("demos")
        if self.data["inline_gates"] and self.data["filter_config"]:
            content["filter_config"] = self.gates_digest  # the gate thresholds change what is accepted
        blob = json.dumps(content, sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]

    def to_dict(self) -> dict:
        return copy.deepcopy(self.data)


def _merge(base: dict, override: dict, where: str) -> dict:
    out = copy.deepcopy(base)
    for key, value in override.items():
        if key not in base:
            raise ConfigError(f"{where}: unknown field {key!r}; expected one of {', '.join(sorted(base))}")
        if isinstance(base[key], dict) and key != "backend_options" and isinstance(value, dict):
            if key in _STEP_KEYS:
                extra = set(value) - _STEP_KEYS[key]
                if extra:
                    raise ConfigError(f"{where}: unknown field {key}.{sorted(extra)[0]}; expected one of "
                                      f"{', '.join(sorted(_STEP_KEYS[key]))}")
            merged = dict(out[key])
            for k, v in value.items():
                merged[k] = ({**merged.get(k, {}), **v} if k == "sampling" and isinstance(v, dict) else v)
            out[key] = merged
        elif isinstance(base[key], dict) and not isinstance(value, dict):
            raise ConfigError(f"{where}: field {key!r} must be a mapping")
        else:
            out[key] = value
    return out


def set_dotted(overrides: dict, dotted: str, value) -> None:
    """``set_dotted(o, "dialogue.sampling.temperature", 0.7)``."""
    node = overrides
    parts = dotted.split(".")
    for p in parts[:-1]:
        node = node.setdefault(p, {})
    node[parts[-1]] = value


def load_run_config(path: str | None = None, overrides: dict | None = None) -> RunConfig:
    data = copy.deepcopy(DEFAULTS)
    source = "<defaults>"
    if path:
        loaded = load_yaml(path)
        if loaded is None:
            loaded = {}
        if not isinstance(loaded, dict):
            raise ConfigError(f"{path}: expected a mapping of run settings at the top level")
        data = _merge(data, loaded, str(path))
        source = str(path)
    if overrides:
        data = _merge(data, overrides, "command line")
    return _validate(RunConfig(data, source))


def _validate(cfg: RunConfig) -> RunConfig:
    d, src = cfg.data, cfg.source

    def need(cond: bool, field_name: str, expected: str):
        if not cond:
            raise ConfigError(f"{src}: field {field_name!r}: expected {expected}")

    need(isinstance(d["dialogues_per_language"], int) and d["dialogues_per_language"] >= 0,
         "dialogues_per_language", "an integer >= 0")
    need(isinstance(d["seed"], int), "seed", "an integer")
    need(isinstance(d["concurrency"], int) and d["concurrency"] >= 1, "concurrency", "an integer >= 1")
    need(isinstance(d["shard_size"], int) and d["shard_size"] >= 1, "shard_size", "an integer >= 1")
    need(isinstance(d["model"], str) and d["model"], "model", "a model name or path")
    need(isinstance(d["num_demos"], int) and d["num_demos"] >= 0, "num_demos", "an integer >= 0")
    need(isinstance(d["inline_gates"], bool), "inline_gates", "true or false")
    need(d["on_truncated"] in TRUNCATION_POLICIES, "on_truncated", " or ".join(TRUNCATION_POLICIES))
    p, dl = d["persona"], d["dialogue"]
    need(isinstance(p["sentences"], int) and p["sentences"] >= 1, "persona.sentences", "an integer >= 1")
    need(isinstance(p["min_sentences"], int) and 1 <= p["min_sentences"] <= p["sentences"],
         "persona.min_sentences", "an integer between 1 and persona.sentences")
    need(isinstance(dl["min_turns"], int) and dl["min_turns"] >= 2, "dialogue.min_turns", "an integer >= 2")
    need(isinstance(dl["max_turns"], int) and dl["max_turns"] >= dl["min_turns"], "dialogue.max_turns",
         "an integer >= dialogue.min_turns")
    for step in ("persona", "common_ground", "dialogue"):
        need(isinstance(d[step]["max_attempts"], int) and d[step]["max_attempts"] >= 1,
             f"{step}.max_attempts", "an integer >= 1")
        cfg.sampling[step] = SamplingParams.from_dict(d[step]["sampling"], f"{src}: {step}.sampling")
    if d["demos"]:
        demos_path = Path(d["demos"])
        if not demos_path.is_file():
            raise ConfigError(f"{src}: field 'demos': file not found: {demos_path}")
        cfg.demos_digest = hashlib.sha256(demos_path.read_bytes()).hexdigest()[:16]
    if d["inline_gates"] and d["filter_config"]:
        gates_path = Path(d["filter_config"])
        if not gates_path.is_file():
            raise ConfigError(f"{src}: field 'filter_config': file not found: {gates_path}")
        cfg.gates_digest = hashlib.sha256(gates_path.read_bytes()).hexdigest()[:16]
    return cfg
