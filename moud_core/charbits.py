"""The class bits of the codepoint tables (``charclass.class_table``) and the counts made from them."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

LETTER, INSIDE, OUTSIDE, REQUIRED, FORBIDDEN, CHARSEG = 1, 2, 4, 8, 16, 32
# Scripts written without spaces: each letter is a token (moud_core.text tokenizes them per character too).
CHAR_SCRIPTS = r"\p{Han}\p{Hiragana}\p{Katakana}\p{Thai}\p{Lao}\p{Khmer}\p{Myanmar}"


class TextCounts(NamedTuple):
    """Counts for one text: letter tokens in / out of the expected script, letters (\\p{L}), letters of the
    required and of the forbidden scripts."""

    inside: int
    outside: int
    letters: int
    required: int
    forbidden: int


def to_codes(text: str) -> np.ndarray:
    """The codepoints of ``text`` (lone surrogates included) as a uint32 array."""
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype="<u4")
