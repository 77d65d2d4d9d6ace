"""Script-aware tokenization shared by filters, statistics and metrics.

Languages written without spaces (``segmentation: chars`` in the registry: zh, ja, th) are split
into single characters for CJK/Thai runs, while embedded Latin/digit runs stay whole words.
Other languages are split into Unicode word tokens (letters, marks and digits; punctuation dropped).
Everything is lower-cased with ``str.casefold``; accents and non-Latin letters are kept.
"""

from __future__ import annotations

import unicodedata

import regex

# Scripts written without spaces: one token per character (with its combining marks).
_CS = r"\p{Han}\p{Hiragana}\p{Katakana}\p{Thai}\p{Lao}\p{Khmer}\p{Myanmar}"
_WORD = rf"(?:(?![{_CS}])[\p{{L}}\p{{N}}\p{{M}}])+"
_CHAR_RE = regex.compile(rf"[{_CS}]\p{{M}}*|{_WORD}(?:['’]{_WORD})*")
_WORD_RE = regex.compile(r"[\p{L}\p{N}\p{M}]+(?:['’][\p{L}\p{N}\p{M}]+)*")
_HAS_CS = regex.compile(rf"[{_CS}]")


def normalize(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def tokenize(text: str, segmentation: str = "words") -> list[str]:
    """Tokens of ``text``: ``segmentation`` is "chars" (zh/ja/th) or "words" (everything else).

    Character-segmented scripts are always split per character, even inside "words" mode, so mixed
    text (a Chinese name in a French sentence) never collapses into one giant token.
    """
    text = normalize(text)
    pattern = _CHAR_RE if segmentation == "chars" else _CHAR_RE if _has_char_script(text) else _WORD_RE
    return pattern.findall(text)


def _has_char_script(text: str) -> bool:
    return _HAS_CS.search(text) is not None


def ngrams(tokens: list[str], n: int) -> list[tuple[str, ...]]:
    return [tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1)]
