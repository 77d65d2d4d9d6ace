"""One way to lay a user's settings over defaults: the run config, the filter config, the training config.

``merge_settings(base, override, where, schema=...)`` deep-merges field by field, so an override (a YAML
file, a command-line flag) changes only the fields it names, never a whole section. Keys the schema does
not know are one-line errors naming where they came from; ``open_keys`` are free-form mappings (merged
key by key, checked later by their owner); with ``check_types`` a leaf must have the kind of the schema's
value. ``origins`` (optional) records, per dotted field, which source set it last, so a later check can
name the file or flag to blame. The merged dict is then built into its typed, frozen config
(``moud_core.typed_config.build``), which checks types, ranges and rules across fields.
"""

from __future__ import annotations

import copy
from collections.abc import Collection

from moud_core.errors import ConfigError


def same_kind(example, value) -> bool:
    """Whether ``value`` has the kind of ``example`` (bool, number, string, list, mapping); None is free."""
    if example is None or value is None:
        return True
    if isinstance(example, bool):
        return isinstance(value, bool)
    if isinstance(example, (int, float)):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, type(example))


def _kind(example) -> str:
    return {
        bool: "true/false",
        int: "a number",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "a mapping",
    }.get(type(example), type(example).__name__)


def merge_settings(
    base: dict,
    override: dict,
    where: str,
    schema: dict | None = None,
    open_keys: Collection[str] = (),
    check_types: bool = True,
    origins: dict | None = None,
    _prefix: str = "",
) -> dict:
    """``base`` with ``override`` laid over it (neither is modified). ``schema`` defaults to ``base``."""
    schema = base if schema is None else schema
    if not isinstance(override, dict):
        raise ConfigError(
            f"{where}: {_prefix.rstrip('.') or 'settings'}: expected a mapping, got {type(override).__name__}"
        )
    out = copy.deepcopy(base)
    for key, value in override.items():
        dotted = f"{_prefix}{key}"
        if key not in schema and key not in open_keys:
            known = ", ".join(sorted(map(str, schema))) or "(none)"
            raise ConfigError(f"{where}: unknown field {dotted!r}; expected one of {known}")
        sub = schema.get(key)
        if key in open_keys:
            if not isinstance(value, dict):
                raise ConfigError(f"{where}: field {dotted!r}: expected a mapping, got {value!r}")
            merged = dict(out.get(key) or {})
            for k, v in value.items():
                merged[k] = _deep(merged.get(k), v)
                if origins is not None:
                    origins[f"{dotted}.{k}"] = where
            out[key] = merged
        elif isinstance(sub, dict):
            if not isinstance(value, dict):
                raise ConfigError(f"{where}: field {dotted!r}: expected a mapping, got {value!r}")
            out[key] = merge_settings(
                out.get(key) or {}, value, where, sub, open_keys, check_types, origins, f"{dotted}."
            )
        else:
            if check_types and not same_kind(sub, value):
                raise ConfigError(f"{where}: field {dotted!r}: expected {_kind(sub)}, got {value!r}")
            out[key] = copy.deepcopy(value)
            if origins is not None:
                origins[dotted] = where
    return out


def _deep(old, new):
    """``new`` merged into ``old`` when both are mappings (recursively), else ``new``."""
    if isinstance(old, dict) and isinstance(new, dict):
        out = dict(old)
        for k, v in new.items():
            out[k] = _deep(out.get(k), v)
        return out
    return copy.deepcopy(new)


def set_dotted(overrides: dict, dotted: str, value) -> None:
    """``set_dotted(o, "dialogue.sampling.temperature", 0.7)`` ->
    ``o["dialogue"]["sampling"]["temperature"]``."""
    node = overrides
    parts = dotted.split(".")
    for p in parts[:-1]:
        node = node.setdefault(p, {})
        if not isinstance(node, dict):
            raise ConfigError(f"--set {dotted}: {p!r} is not a section")
    node[parts[-1]] = value
