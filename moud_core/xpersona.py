"""XPersona's file names, read from the language registry (``xpersona`` field: the file prefix, e.g. Jp).

Files are ``{Prefix}_persona_split_{valid,test}_human_annotated.json`` and
``{Prefix}_persona_train_corrected.json`` (older releases: ``{Prefix}_persona_{split}.json``); English is
``En_persona_{train,valid,test}.json``.
"""

from __future__ import annotations

from pathlib import Path

from moud_core.errors import ConfigError, MoudError
from moud_core.languages import load_registry

_XP_SPLIT = {"train": "train", "validation": "valid", "valid": "valid", "test": "test"}


def xpersona_prefixes() -> dict[str, str]:
    """XPersona file prefix -> language code (``Jp`` -> ``ja``; English is ``En`` -> ``en``)."""
    out = {lang.xpersona: lang.code for lang in load_registry().values() if lang.xpersona}
    out["En"] = "en"
    return out


def xpersona_file_candidates(directory: str | Path, language: str, split: str) -> list[Path]:
    """Possible file names for ``language`` and ``split`` (train/valid/test) in an XPersona folder."""
    prefix = {v: k for k, v in xpersona_prefixes().items()}.get(language)
    if prefix is None:
        raise ConfigError(
            f"language {language!r} is not in XPersona; XPersona languages: "
            f"{', '.join(sorted(xpersona_prefixes().values()))}"
        )
    split = _XP_SPLIT.get(split, split)
    d = Path(directory)
    if prefix == "En":
        return [d / f"En_persona_{split}.json"]
    if split == "train":
        return [d / f"{prefix}_persona_train_corrected.json", d / f"{prefix}_persona_train.json"]
    return [d / f"{prefix}_persona_split_{split}_human_annotated.json", d / f"{prefix}_persona_{split}.json"]


def xpersona_languages(directory: str | Path, split: str) -> list[str]:
    """Languages with a file for ``split`` in ``directory``."""
    return sorted(
        code
        for code in xpersona_prefixes().values()
        if any(p.is_file() for p in xpersona_file_candidates(directory, code, split))
    )


def xpersona_file(directory: str | Path, language: str, split: str) -> Path:
    for path in xpersona_file_candidates(directory, language, split):
        if path.is_file():
            return path
    present = xpersona_languages(directory, split)
    raise MoudError(
        f"{directory}: no XPersona {split} file for language {language!r} "
        f"(looked for {xpersona_file_candidates(directory, language, split)[0].name}); "
        f"languages present for {split}: {', '.join(present) or 'none'}"
    )
