"""Script-aware tokenization shared by gates, statistics and metrics.

Languages written without spaces (``segmentation: chars`` in the registry: zh, ja, th) are split
into single characters for CJK/Thai runs, while embedded Latin/digit runs stay whole words.
Other languages are split into Unicode word tokens (letters, marks and digits; punctuation dropped).
Character-segmented scripts are split per character in every mode, so mixed text (a Chinese name in a
French sentence) never collapses into one giant token. Everything is NFKC-normalized and case-folded.

``reference_tokenize`` states the rule with `regex` Unicode properties. ``tokenize`` gives exactly the same
tokens several times faster: the same patterns rebuilt for the standard-library ``re`` with every property
class spelled out as explicit ranges of Basic Multilingual Plane codepoints (taken from the very same
`regex` classes), which ``re`` matches with a bitmap. Texts with a character beyond U+FFFF (emoji, rare
Han) go to ``reference_tokenize``.
"""

from __future__ import annotations

import functools
import re
import unicodedata

import numpy as np
import regex

from moud_core.charclass import CHAR_SCRIPTS, class_mask

# CHAR_SCRIPTS: scripts written without spaces, one token per character (with its combining marks).
_WORD = rf"(?:(?![{CHAR_SCRIPTS}])[\p{{L}}\p{{N}}\p{{M}}])+"
_CHAR_RE = regex.compile(rf"[{CHAR_SCRIPTS}]\p{{M}}*|{_WORD}(?:['’]{_WORD})*")
_WORD_RE = regex.compile(r"[\p{L}\p{N}\p{M}]+(?:['’][\p{L}\p{N}\p{M}]+)*")
_HAS_CS = regex.compile(rf"[{CHAR_SCRIPTS}]")
_BMP = 0x10000


def normalize(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def reference_tokenize(text: str, segmentation: str = "words") -> list[str]:
    """Tokens of ``text``: ``segmentation`` is "chars" (zh/ja/th) or "words" (everything else)."""
    text = normalize(text)
    chars = segmentation == "chars" or _HAS_CS.search(text) is not None
    return (_CHAR_RE if chars else _WORD_RE).findall(text)


def tokenize(text: str, segmentation: str = "words") -> list[str]:
    """Exactly ``reference_tokenize(text, segmentation)``, faster."""
    word_re, char_re, has_cs = compiled_patterns()
    norm = normalize(text)
    top = max(norm) if norm else ""  # the largest codepoint decides most cases without a regex scan
    if top >= "\U00010000":
        return reference_tokenize(text, segmentation)
    if segmentation == "chars" or (top >= _first_char_script() and has_cs.search(norm)):
        return char_re.findall(norm)
    return word_re.findall(norm)


def ngrams(tokens: list[str], n: int) -> list[tuple[str, ...]]:
    return [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]


def _ranges(mask: np.ndarray) -> str:
    """A character-class body (without brackets) listing the BMP codepoints where ``mask`` is True."""
    mask = mask[:_BMP]
    edges = np.flatnonzero(np.diff(np.concatenate(([False], mask, [False])).astype(np.int8)))
    return "".join(
        f"\\U{a:08x}-\\U{b - 1:08x}" if b - a > 1 else f"\\U{a:08x}"
        for a, b in zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True)
    )


@functools.cache
def compiled_patterns() -> tuple[re.Pattern, re.Pattern, re.Pattern]:
    """(word pattern, char pattern, has-char-script pattern) for ``re``, as the `regex` ones above."""
    lnm = class_mask(r"[\p{L}\p{N}\p{M}]")
    cs = class_mask(f"[{CHAR_SCRIPTS}]")
    marks = class_mask(r"\p{M}")
    word_chars, word_chars_no_cs, cs_chars = _ranges(lnm), _ranges(lnm & ~cs), _ranges(cs)
    word_re = re.compile(f"[{word_chars}]+(?:['’][{word_chars}]+)*")
    word = f"[{word_chars_no_cs}]+"  # (?:(?![CS])[\p{L}\p{N}\p{M}])+
    char_re = re.compile(f"[{cs_chars}][{_ranges(marks)}]*|{word}(?:['’]{word})*")
    return word_re, char_re, re.compile(f"[{cs_chars}]")


@functools.cache
def _first_char_script() -> str:
    """The smallest character of the character-segmented scripts: texts below it have none."""
    return chr(int(np.flatnonzero(class_mask(f"[{CHAR_SCRIPTS}]"))[0]))
