"""Upload rules and defaults, read from ``hub_upload/settings.yaml`` into a typed ``UploadSettings``."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from moud_core.typed_config import at_least, build
from moud_core.yamlio import load_yaml

SETTINGS_PATH = Path(__file__).with_name("settings.yaml")


@dataclass(frozen=True)
class RetryPolicy:
    """Backoff for transient failures: the ``retry`` section of settings.yaml (``from_settings``)."""

    attempts: int = field(metadata=at_least(1))
    base_delay_s: float = field(metadata=at_least(0))
    max_delay_s: float = field(metadata=at_least(0))
    status_codes: tuple[int, ...] = field(default_factory=lambda: RetryPolicy.from_settings().status_codes)

    @classmethod
    def from_settings(cls, **overrides) -> RetryPolicy:
        return replace(load_settings().retry, **{k: v for k, v in overrides.items() if v is not None})

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        return min(self.max_delay_s, self.base_delay_s * 2 ** (attempt - 1))


@dataclass(frozen=True)
class CommitLimits:
    """A multi-commit upload's batches: data files per commit and bytes per commit."""

    max_files: int = field(metadata=at_least(1))
    max_bytes: int = field(metadata=at_least(1))


@dataclass(frozen=True)
class UploadSettings:
    managed_prefixes: tuple[str, ...]
    managed_prefixes_with_drops: tuple[str, ...]
    commit: CommitLimits
    retry: RetryPolicy
    repo_id_pattern: str

    def check(self, need) -> None:
        try:
            re.compile(self.repo_id_pattern)
        except re.error as exc:
            need(False, "repo_id_pattern", f"a regular expression ({exc})")


@functools.lru_cache(maxsize=1)
def load_settings(path: str | Path = SETTINGS_PATH) -> UploadSettings:
    return build(UploadSettings, load_yaml(path), str(path))
