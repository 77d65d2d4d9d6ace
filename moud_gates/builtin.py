"""The built-in gates: importing this module registers them in ``base.GATES`` (name -> class)."""

from moud_gates.base import GATES
from moud_gates.gates import (  # noqa: F401
    common_ground,
    dedup,
    english_opener,
    leakage,
    length,
    lexicon,
    lid,
    persona_cap,
    persona_form,
    persona_twin,
    repetition,
    script,
    sentence_repeat,
)

__all__ = ["GATES"]
