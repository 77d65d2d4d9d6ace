"""The dataset folder written by ``moud build`` and published by ``moud upload``: its one description.

OUT/README.md                                          dataset card with `configs:` (one per language + all)
OUT/moud_build.json                                    size and sha256 of every data file, the split settings
OUT/data/<lang>/<split>-NNNNN-of-NNNNN.parquet         rows, sorted by id
OUT/drops/<lang>/<name>.jsonl                          optional: filter drop records (--include-drops), the
                                                       run folder's drops/ (``moud_core.runfolder``)
"""

from __future__ import annotations

import re
from pathlib import Path

from moud_core.runfolder import DROPS

CARD = "README.md"
BUILD_MARKER = "moud_build.json"
DATA_DIR = "data"
DROPS_DIR = DROPS
ALL_CONFIG = "all"
DATA_FILE_RE = re.compile(
    r"^data/(?P<config>[A-Za-z0-9_-]+)/(?P<split>[A-Za-z0-9_]+)-(?P<index>\d{5})-of-"
    r"(?P<count>\d{5})\.parquet$"
)
DROPS_FILE_RE = re.compile(rf"^{DROPS_DIR}/[A-Za-z0-9_-]+/[A-Za-z0-9_.-]+\.jsonl$")


def data_file_name(split: str, index: int, total: int) -> str:
    return f"{split}-{index:05d}-of-{total:05d}.parquet"


def data_glob(config: str, split: str) -> str:
    """The card's `data_files` pattern of one config and split (``all`` covers every language)."""
    folder = "*" if config == ALL_CONFIG else config
    return f"{DATA_DIR}/{folder}/{split}-*.parquet"


def is_dataset_folder(path: Path) -> bool:
    """Whether ``path`` holds the data files of a built dataset (``data/<lang>/*.parquet``)."""
    data = Path(path) / DATA_DIR
    return data.is_dir() and any(data.glob("*/*.parquet"))


def data_files(path: Path) -> dict[str, list[tuple[str, Path]]]:
    """{language: [(split, file), ...]} of a built dataset folder, in language then file name order."""
    found: dict[str, list[tuple[str, Path]]] = {}
    root = Path(path)
    for f in sorted((root / DATA_DIR).glob("*/*.parquet")):
        m = DATA_FILE_RE.match(f.relative_to(root).as_posix())
        if m:
            found.setdefault(m["config"], []).append((m["split"], f))
    return found
