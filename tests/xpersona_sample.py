"""A small XPersona-shaped folder the tests make themselves (tests/data/xpersona_sample.yaml written as
XPersona's validation files), so XPersona-format coverage does not depend on ``../shared``; the real files,
when present, are added to it (each replacing the sample file of the same name)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from moud_core.xpersona import xpersona_file_candidates, xpersona_prefixes
from moud_core.yamlio import load_yaml

SAMPLE = Path(__file__).parent / "data" / "xpersona_sample.yaml"


def write_xpersona_sample(directory: Path, real: Path | None = None) -> Path:
    """``directory`` with one validation file per sample language (XPersona's file names and JSON layout),
    then a link to every ``*.json`` of ``real`` (an XPersona folder) when given."""
    directory.mkdir(parents=True, exist_ok=True)
    languages = xpersona_prefixes()
    for prefix, dialogues in load_yaml(SAMPLE).items():
        path = xpersona_file_candidates(directory, languages[prefix], "valid")[0]
        path.write_text(json.dumps(dialogues, ensure_ascii=False, indent=1), encoding="utf-8")
    if real is not None and real.is_dir():
        for f in sorted(real.glob("*.json")):
            target = directory / f.name
            target.unlink(missing_ok=True)
            os.symlink(f.resolve(), target)
    return directory
