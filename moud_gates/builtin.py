"""The built-in gates: importing this module registers them in ``base.GATES`` (name -> class)."""

from moud_gates.base import GATES
from moud_gates.gates import dedup, leakage, length, lid, persona_cap, repetition, script  # noqa: F401

__all__ = ["GATES"]
