"""Per-codepoint class tables, so the script and letter counts of all texts of a row take one numpy pass.

Each table maps every codepoint (0..0x10FFFF, surrogates included) to a bit mask. The tables are built
by running the very same `regex` character classes the per-text reference code uses (``script.py``:
``script_share``, ``presence_pattern``; ``lid.py``: ``\\p{L}``) over a string of all codepoints, so the
counts are identical by construction, only computed on the UTF-32 code units with numpy.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np
import regex

_NUM_CODEPOINTS = 0x110000
LETTER, INSIDE, OUTSIDE, REQUIRED, FORBIDDEN = 1, 2, 4, 8, 16


class TextCounts(NamedTuple):
    """Counts for one text: letter tokens in / out of the expected script, letters (\\p{L}), letters of the
    required and of the forbidden scripts."""

    inside: int
    outside: int
    letters: int
    required: int
    forbidden: int


def _all_codepoints() -> str:
    return np.arange(_NUM_CODEPOINTS, dtype="<u4").tobytes().decode("utf-32-le", "surrogatepass")


def _to_codes(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype="<u4")


@functools.cache
def class_mask(char_class: str) -> np.ndarray:
    """Boolean table: which codepoints the single-character `regex` class ``char_class`` matches."""
    hits = "".join(regex.findall(char_class, _all_codepoints()))
    table = np.zeros(_NUM_CODEPOINTS, dtype=bool)
    table[_to_codes(hits)] = True
    return table


def _class(names) -> str:
    return "".join(f"\\p{{Script={n}}}" for n in names)


@functools.cache
def class_table(script_names: tuple[str, ...] = (), required: tuple[str, ...] = (),
                forbidden: tuple[str, ...] = ()) -> np.ndarray:
    """uint8 table of LETTER/INSIDE/OUTSIDE/REQUIRED/FORBIDDEN bits (script bits only when names are given).

    The classes are those of ``script.script_patterns`` / ``script.presence_pattern``."""
    table = class_mask(r"\p{L}").astype(np.uint8)  # LETTER
    if script_names:
        table |= class_mask(f"[{_class(script_names)}]").astype(np.uint8) * INSIDE
        outside = rf"(?V1)[\p{{L}}--[{_class(script_names)}\p{{Script=Common}}\p{{Script=Inherited}}]]"
        table |= class_mask(outside).astype(np.uint8) * OUTSIDE
    if required:
        table |= class_mask(f"[{_class(required)}]").astype(np.uint8) * REQUIRED
    if forbidden:
        table |= class_mask(f"[{_class(forbidden)}]").astype(np.uint8) * FORBIDDEN
    return table


def count_texts(texts: list[str], table: np.ndarray, chars: bool) -> list[TextCounts]:
    """Counts for each text in one pass. In-script tokens are characters when ``chars`` (CJK-style
    segmentation) and maximal runs otherwise; out-of-script tokens are always maximal runs."""
    if not texts:
        return []
    # "\n" after every text: a separator of no class, so runs never cross texts and no segment is empty
    cls = table[_to_codes("\n".join(texts) + "\n")]
    inside = (cls & INSIDE) != 0
    outside = (cls & OUTSIDE) != 0
    feats = np.empty((5, len(cls)), dtype=np.int32)
    if chars:
        feats[0] = inside
    else:
        feats[0, 0] = inside[0]
        np.greater(inside[1:], inside[:-1], out=feats[0, 1:])  # run starts
    feats[1, 0] = outside[0]
    np.greater(outside[1:], outside[:-1], out=feats[1, 1:])
    feats[2] = cls & LETTER
    feats[3] = (cls & REQUIRED) != 0
    feats[4] = (cls & FORBIDDEN) != 0
    ends = np.cumsum([len(t) + 1 for t in texts]) - 1
    totals = np.cumsum(feats, axis=1)[:, ends]
    totals[:, 1:] -= totals[:, :-1].copy()
    return [TextCounts(*c) for c in totals.T.tolist()]
