"""Work units: ``shard_size`` consecutive dialogue indices of one language, made and written together.

Unit ``k`` of language ``L`` becomes ``shards/L/shard-{k:05d}.jsonl`` (and the same name under
``failures/`` and ``drops/``). The partition is deterministic, so independent workers (Slurm arrays,
Kubernetes jobs, Ray tasks) can share one run folder.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from moud_core.errors import ConfigError
from moud_core.runfolder import shard_name


@dataclass(frozen=True, order=True)
class WorkUnit:
    language: str
    shard: int
    start: int
    stop: int

    @property
    def name(self) -> str:
        return shard_name(self.shard)

    @property
    def size(self) -> int:
        return self.stop - self.start


def plan_units(languages: list[str], per_language: int, shard_size: int) -> list[WorkUnit]:
    return [
        WorkUnit(lang, k, k * shard_size, min(per_language, (k + 1) * shard_size))
        for lang in languages
        for k in range(math.ceil(per_language / shard_size))
    ]


def select_units(units: list[WorkUnit], num_shards: int = 1, shard_index: int = 0) -> list[WorkUnit]:
    """Deterministic partition for independent workers: unit i goes to worker i mod num_shards."""
    if num_shards < 1 or not 0 <= shard_index < num_shards:
        raise ConfigError(f"--shard-index must be in [0, {num_shards - 1}] (got {shard_index})")
    return [u for i, u in enumerate(units) if i % num_shards == shard_index]
