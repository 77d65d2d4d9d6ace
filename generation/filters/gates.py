"""The built-in gates: importing this module registers them in ``base.GATES`` (name -> class)."""

from generation.filters import dedup, leakage, length, lid, repetition, script  # noqa: F401
from generation.filters.base import GATES

__all__ = ["GATES"]
