"""Settings of ``moud train`` and ``moud evaluate``: defaults, then a YAML file, then command-line flags,
merged field by field (``moud_core.config_merge.merge_settings``: unknown keys and values of the wrong kind
are one-line errors naming where they came from), then checked against per-field rules."""

from __future__ import annotations

from moud_core.config_merge import merge_settings
from moud_core.errors import ConfigError

# rule kinds: ("int", minimum) an integer >= minimum; ("number", minimum) any number >= minimum;
# ("choice", options) one of the options; ("optional_int", minimum) None or an integer >= minimum.


def merge_layers(
    defaults: dict, layers: list[tuple[dict, str]], types: dict | None = None, open_keys=()
) -> tuple[dict, dict]:
    """``defaults`` with each ``(settings, where)`` laid over it in turn; returns (settings, origins)."""
    origins: dict = {}
    merged = dict(defaults)
    for settings, where in layers:
        merged = merge_settings(
            merged, settings, where, schema=types or defaults, open_keys=open_keys, origins=origins
        )
    return merged, origins


def check_rules(settings: dict, rules: dict, origins: dict) -> None:
    """Raise a ConfigError naming the field and where it was set when a value breaks its rule."""
    for key, (kind, arg) in rules.items():
        value = settings.get(key)
        where = origins.get(key, "defaults")
        if kind == "choice":
            if value not in arg:
                raise ConfigError(
                    f"{where}: field {key!r}: expected one of {', '.join(map(str, arg))}, got {value!r}"
                )
            continue
        if value is None and kind == "optional_int":
            continue
        is_int = isinstance(value, int) and not isinstance(value, bool)
        ok = is_int if kind in ("int", "optional_int") else (is_int or isinstance(value, float))
        if not ok or value < arg:
            what = "an integer" if kind in ("int", "optional_int") else "a number"
            raise ConfigError(f"{where}: field {key!r}: expected {what} >= {arg}, got {value!r}")


def language_list(value, where: str) -> list[str] | None:
    """``languages`` as a list of codes: a list, a comma-separated string, or None (every language)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = [c.strip() for c in value.split(",") if c.strip()]
    if not isinstance(value, list) or not value or not all(isinstance(c, str) for c in value):
        raise ConfigError(
            f"{where}: field 'languages': expected a list of language codes or 'fr,ja', got {value!r}"
        )
    return value
