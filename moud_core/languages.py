"""Language registry: loads ``data/languages.yaml`` (plus optional user files) into ``Language`` records."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from moud_core.errors import ConfigError
from moud_core.yamlio import load_yaml

REGISTRY_PATH = Path(__file__).parent / "data" / "languages.yaml"
REQUIRED_FIELDS = ("code", "name", "native_name", "script", "lid_label", "segmentation", "resource")


@dataclass(frozen=True)
class Language:
    code: str
    name: str
    native_name: str
    script: str
    lid_label: str
    segmentation: str  # "words" or "chars"
    resource: str
    xpersona: str | None = None
    region_hint: str = ""
    direction: str = "ltr"  # "ltr" or "rtl"


def _parse(entries, source: str) -> dict[str, Language]:
    if not isinstance(entries, list):
        raise ConfigError(f"{source}: field 'languages' must be a list of language entries")
    out: dict[str, Language] = {}
    for i, entry in enumerate(entries):
        where = f"{source}: languages[{i}]"
        if not isinstance(entry, dict):
            raise ConfigError(f"{where}: expected a mapping with fields {', '.join(REQUIRED_FIELDS)}")
        missing = [f for f in REQUIRED_FIELDS if not entry.get(f)]
        if missing:
            raise ConfigError(f"{where}: missing field(s) {', '.join(missing)}")
        if entry["segmentation"] not in ("words", "chars"):
            raise ConfigError(
                f"{where}.segmentation: expected 'words' or 'chars', got {entry['segmentation']!r}"
            )
        if entry.get("direction", "ltr") not in ("ltr", "rtl"):
            raise ConfigError(f"{where}.direction: expected 'ltr' or 'rtl', got {entry['direction']!r}")
        known = set(Language.__dataclass_fields__)
        extra = set(entry) - known
        if extra:
            raise ConfigError(f"{where}: unknown field(s) {', '.join(sorted(extra))}")
        lang = Language(
            **{
                k: (str(v) if isinstance(v, (int, float)) and k != "xpersona" else v)
                for k, v in entry.items()
            }
        )
        out[lang.code] = lang
    return out


def load_registry(extra_files: tuple[str, ...] | list[str] = ()) -> dict[str, Language]:
    """The default 29 languages, updated with entries from ``extra_files`` (same YAML layout)."""
    reg = dict(_default_registry())
    for path in extra_files:
        data = load_yaml(path)
        if not isinstance(data, dict) or "languages" not in data:
            raise ConfigError(f"{path}: expected a mapping with a 'languages' list")
        reg.update(_parse(data["languages"], str(path)))
    return reg


@functools.lru_cache(maxsize=1)
def _default_registry() -> dict[str, Language]:
    return _parse(load_yaml(REGISTRY_PATH)["languages"], str(REGISTRY_PATH))


DEFAULT_LANGUAGES: tuple[str, ...] = tuple(_default_registry())


def get_language(code: str, registry: dict[str, Language] | None = None) -> Language:
    """Look up one language; unknown codes raise a ConfigError listing the valid ones."""
    reg = registry if registry is not None else _default_registry()
    if code not in reg:
        near = suggest_language(code, reg)
        hint = f" (did you mean {near.code!r}, {near.name}?)" if near else ""
        raise ConfigError(f"unknown language code {code!r}{hint}; valid codes: {', '.join(sorted(reg))}")
    return reg[code]


ALL = "all"


def suggest_language(text: str, registry: dict[str, Language]) -> Language | None:
    """The registry language closest to a mistyped code or name ('jp' -> ja, 'french' -> fr), or None:
    difflib similarity to its code, name and native name, with a bonus when the text starts like its name,
    and more when its letters appear in the name in order (an abbreviation: 'jp' of Japanese)."""
    import difflib

    typed = text.strip().lower()
    if not typed:
        return None

    def score(lang: Language) -> float:
        name = lang.name.lower()
        best = max(
            difflib.SequenceMatcher(None, typed, other).ratio()
            for other in (lang.code.lower(), name, lang.native_name.lower())
        )
        letters = iter(name)
        abbreviates = all(ch in letters for ch in typed)
        return best + 0.25 * (name[:1] == typed[:1]) * (1 + abbreviates)

    best = max(registry.values(), key=score, default=None)
    return best if best is not None and score(best) >= 0.8 else None


def select_languages(
    spec,
    *,
    all_means: str,
    present: Iterable[str] | None = None,
    registry: dict[str, Language] | None = None,
    check_registry: bool = True,
    where: str = "--languages",
) -> list[str] | None:
    """The languages a command works on, from ``spec``: codes as 'fr,de' or ['fr', 'de'] (validated against
    the registry unless ``check_registry`` is false; order kept, repeats dropped), or None / 'all'.

    What 'all' (or None) means is the command's choice, stated in its --help: ``all_means="registered"``
    is every language of the registry (registry order); ``all_means="present"`` is every language found in
    the input: ``present`` in its order, or None (the reader then takes every language it finds)."""
    if all_means not in ("registered", "present"):
        raise ValueError(f"all_means: expected 'registered' or 'present', got {all_means!r}")
    reg = registry if registry is not None else _default_registry()
    if spec is None or spec == ALL or spec == [ALL]:
        if all_means == "registered":
            return list(reg)
        return None if present is None else list(present)
    codes = None
    if isinstance(spec, str):
        codes = [c.strip() for c in spec.split(",")]
    elif isinstance(spec, (list, tuple)) and all(isinstance(c, str) for c in spec):
        codes = [c.strip() for c in spec]
    codes = [c for c in codes or () if c]
    if not codes or ALL in codes:
        valid = f"; valid codes: {', '.join(sorted(reg))}" if check_registry else ""
        raise ConfigError(
            f"{where}: expected comma-separated language codes, a list of them or 'all', got {spec!r}{valid}"
        )
    if check_registry:
        for c in codes:
            if c not in reg:
                near = suggest_language(c, reg)
                hint = f" (did you mean {near.code!r}, {near.name}?)" if near is not None else ""
                raise ConfigError(
                    f"{where}: unknown language code {c!r}{hint}; valid codes: {', '.join(sorted(reg))}"
                )
    return list(dict.fromkeys(codes))
