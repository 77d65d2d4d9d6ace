"""The dataset folder written by ``moud build`` and published by ``moud upload``: its one description.

OUT/README.md                                          dataset card with `configs:` (one per language + all)
OUT/moud_build.json                                    size and sha256 of every data file
OUT/data/<lang>/<split>-NNNNN-of-NNNNN.parquet         rows, sorted by id
OUT/drops/<lang>/<name>.jsonl                          optional: filter drop records (--include-drops)
"""

from __future__ import annotations

import re

CARD = "README.md"
BUILD_MARKER = "moud_build.json"
DATA_DIR = "data"
DROPS_DIR = "drops"
ALL_CONFIG = "all"
DATA_FILE_RE = re.compile(
    r"^data/(?P<config>[A-Za-z0-9_-]+)/(?P<split>[A-Za-z0-9_]+)-(?P<index>\d{5})-of-"
    r"(?P<count>\d{5})\.parquet$"
)
DROPS_FILE_RE = re.compile(r"^drops/[A-Za-z0-9_-]+/[A-Za-z0-9_.-]+\.jsonl$")


def data_file_name(split: str, index: int, total: int) -> str:
    return f"{split}-{index:05d}-of-{total:05d}.parquet"


def data_glob(config: str, split: str) -> str:
    """The card's `data_files` pattern of one config and split (``all`` covers every language)."""
    folder = "*" if config == ALL_CONFIG else config
    return f"{DATA_DIR}/{folder}/{split}-*.parquet"
