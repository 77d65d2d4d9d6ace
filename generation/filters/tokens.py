"""``tokenize``: the same tokens as ``generation.text.tokenize``, several times faster.

``generation.text`` matches Unicode properties (``\\p{L}``, ``\\p{Han}``...) with the `regex` module,
which looks up each character's properties one by one. Here the same patterns are rebuilt for the
standard-library ``re`` with every property class spelled out as explicit ranges of Basic Multilingual
Plane codepoints (taken from the very same `regex` classes), which ``re`` matches with a bitmap. Same
structure, same classes, so the same tokens. Texts with a character beyond U+FFFF (emoji, rare Han),
for which ``re`` would scan range lists, go to ``generation.text.tokenize`` itself.
"""

from __future__ import annotations

import functools
import re

import numpy as np

from generation.filters.charclass import class_mask
from generation.text import _CS, normalize
from generation.text import tokenize as reference_tokenize

_BMP = 0x10000


def _ranges(mask: np.ndarray) -> str:
    """A character-class body (without brackets) listing the BMP codepoints where ``mask`` is True."""
    mask = mask[:_BMP]
    edges = np.flatnonzero(np.diff(np.concatenate(([False], mask, [False])).astype(np.int8)))
    return "".join(f"\\U{a:08x}-\\U{b - 1:08x}" if b - a > 1 else f"\\U{a:08x}"
                   for a, b in zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))


@functools.cache
def compiled_patterns() -> tuple[re.Pattern, re.Pattern, re.Pattern]:
    """(word pattern, char pattern, has-char-script pattern), as in generation.text."""
    lnm = class_mask(r"[\p{L}\p{N}\p{M}]")
    cs = class_mask(f"[{_CS}]")
    marks = class_mask(r"\p{M}")
    word_chars, word_chars_no_cs, cs_chars = _ranges(lnm), _ranges(lnm & ~cs), _ranges(cs)
    word_re = re.compile(f"[{word_chars}]+(?:['’][{word_chars}]+)*")
    word = f"[{word_chars_no_cs}]+"  # (?:(?![CS])[\p{L}\p{N}\p{M}])+
    char_re = re.compile(f"[{cs_chars}][{_ranges(marks)}]*|{word}(?:['’]{word})*")
    return word_re, char_re, re.compile(f"[{cs_chars}]")




def tokenize(text: str, segmentation: str = "words") -> list[str]:
    """Exactly ``generation.text.tokenize(text, segmentation)``."""
    word_re, char_re, has_cs = compiled_patterns()
    norm = normalize(text)
    top = max(norm) if norm else ""  # the largest codepoint decides most cases without a regex scan
    if top >= "\U00010000":
        return reference_tokenize(text, segmentation)
    if segmentation == "chars" or (top >= _first_cs() and has_cs.search(norm)):
        return char_re.findall(norm)
    return word_re.findall(norm)


@functools.cache
def _first_cs() -> str:
    """The smallest character of the character-segmented scripts: texts below it have none."""
    return chr(int(np.flatnonzero(class_mask(f"[{_CS}]"))[0]))
