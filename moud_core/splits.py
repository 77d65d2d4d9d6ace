"""Deterministic, grouped split assignment: hash(seed, split_group) -> train / validation / test.

Every row with the same ``split_group`` (same persona pair) lands in the same split, whatever shard
it is in and whichever other rows exist, so adding shards or languages never moves a row.
"""

from __future__ import annotations

import hashlib

from moud_core.errors import ConfigError

SPLITS = ("train", "validation", "test")
DEFAULT_RATIOS = (0.9, 0.05, 0.05)


def parse_ratios(spec: str | tuple | list) -> tuple[float, float, float]:
    """'0.9,0.05,0.05' -> (0.9, 0.05, 0.05); three non-negative numbers summing to 1."""
    parts = spec.split(",") if isinstance(spec, str) else list(spec)
    try:
        ratios = tuple(float(p) for p in parts)
    except (TypeError, ValueError):
        raise ConfigError(
            f"--split-ratios: expected three numbers like 0.9,0.05,0.05, got {spec!r}"
        ) from None
    if len(ratios) != 3 or any(r < 0 for r in ratios) or abs(sum(ratios) - 1.0) > 1e-6:
        raise ConfigError(
            "--split-ratios: expected three non-negative numbers (train,validation,test) summing to 1, "
            f"got {spec!r}"
        )
    return ratios  # type: ignore[return-value]


def group_position(split_group: str, seed: int) -> float:
    """A uniform number in [0, 1) fixed by (seed, split_group)."""
    digest = hashlib.sha256(f"moud-split\x1f{seed}\x1f{split_group}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def assign_split(split_group: str, seed: int = 0, ratios: tuple[float, float, float] = DEFAULT_RATIOS) -> str:
    pos = group_position(split_group, seed)
    edge = 0.0
    for name, ratio in zip(SPLITS, ratios, strict=True):
        edge += ratio
        if pos < edge:
            return name
    # Rounding left pos above the last edge: the last split with a non-zero ratio takes it.
    return next(n for n, r in zip(reversed(SPLITS), reversed(ratios), strict=True) if r > 0)
