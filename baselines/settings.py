"""Settings of ``moud train`` and ``moud evaluate``: defaults (a typed frozen dataclass), then a YAML file,
then command-line flags, merged field by field (``moud_core.config_merge.merge_settings``: unknown keys and
values of the wrong kind are one-line errors naming where they came from), then built into the dataclass
(``moud_core.typed_config.build``: types, ranges and choices, with the file or flag that set a bad value)."""

from __future__ import annotations

from moud_core.config_merge import merge_settings
from moud_core.languages import select_languages
from moud_core.typed_config import build, source_of, to_dict


def merge_layers(defaults: dict, layers: list[tuple[dict, str]], open_keys=()) -> tuple[dict, dict]:
    """``defaults`` with each ``(settings, where)`` laid over it in turn; returns (settings, origins)."""
    origins: dict = {}
    merged = dict(defaults)
    for settings, where in layers:
        merged = merge_settings(
            merged, settings, where, schema=defaults, open_keys=open_keys, origins=origins
        )
    return merged, origins


def resolve(cls, layers: list[tuple[dict, str]]):
    """A ``cls`` (frozen dataclass with defaults) from its defaults with ``layers`` laid over them; a
    ``languages`` field is read by ``language_selection`` first."""
    merged, origins = merge_layers(to_dict(cls()), layers)
    if "languages" in merged:
        where = source_of(origins, "languages", "defaults")
        merged["languages"] = language_selection(merged["languages"], f"{where}: field 'languages'")
    return build(cls, merged, "defaults", origins=origins)


def language_selection(value, where: str) -> list[str] | None:
    """``languages`` as a list of codes: a list, 'fr,ja', or None / 'all' (every language of the sources).
    Codes are not checked against the registry: PersonaChat is English."""
    return select_languages(value, all_means="present", check_registry=False, where=where)
