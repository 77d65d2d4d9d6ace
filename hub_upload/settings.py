"""Upload rules and defaults, read from ``hub_upload/settings.yaml``."""

from __future__ import annotations

import functools
from pathlib import Path

import yaml

SETTINGS_PATH = Path(__file__).with_name("settings.yaml")


@functools.lru_cache(maxsize=1)
def load_settings() -> dict:
    with open(SETTINGS_PATH, encoding="utf-8") as fh:
        return yaml.safe_load(fh)
