"""Per-codepoint class tables, so the script and letter counts of all texts of a row take one numpy pass.

Each table maps every codepoint (0..0x10FFFF, surrogates included) to a bit mask. The tables are built
by running the very same `regex` character classes the per-text reference code uses (``script.py``:
``script_share``, ``presence_pattern``; ``lid.py``: ``\\p{L}``) over a string of all codepoints, so the
counts are identical by construction, only computed on the UTF-32 code units with numpy (or, for a few
short texts, with string methods on the texts' class bytes: ``shortcount``).
"""

from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path

import numpy as np
import regex

from moud_core.atomic import atomic_open
from moud_core.charbits import (
    CHAR_SCRIPTS,
    CHARSEG,
    FORBIDDEN,
    INSIDE,
    LETTER,
    OUTSIDE,
    REQUIRED,
    TextCounts,
    to_codes,
)
from moud_core.shortcount import short_counter

_NUM_CODEPOINTS = 0x110000
_SHORT_MAX_TEXTS, _SHORT_MAX_CHARS = 8, 4096  # up to these, shortcount's string methods beat numpy


def _all_codepoints() -> str:
    return np.arange(_NUM_CODEPOINTS, dtype="<u4").tobytes().decode("utf-32-le", "surrogatepass")


def _cache_file(char_class: str) -> Path | None:
    """Where the table of ``char_class`` is kept between runs (it depends on the `regex` module's Unicode
    data only): ``$MOUD_CACHE_DIR`` or ``~/.cache/moud``; None when neither can be used."""
    root = os.environ.get("MOUD_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "moud")
    key = hashlib.sha256(f"{regex.__version__}\x1f{char_class}".encode()).hexdigest()[:24]
    return Path(root) / "charclass" / f"{key}.npy"


@functools.cache
def class_mask(char_class: str) -> np.ndarray:
    """Boolean table: which codepoints the single-character `regex` class ``char_class`` matches. Built once
    per `regex` version and kept on disk (a plain cache: rebuilt when missing or unreadable)."""
    path = _cache_file(char_class)
    try:
        packed = np.load(path, allow_pickle=False)
        if packed.shape == ((_NUM_CODEPOINTS + 7) // 8,) and packed.dtype == np.uint8:
            return np.unpackbits(packed, count=_NUM_CODEPOINTS).astype(bool)
    except (OSError, ValueError):
        pass
    hits = "".join(regex.findall(char_class, _all_codepoints()))
    table = np.zeros(_NUM_CODEPOINTS, dtype=bool)
    table[to_codes(hits)] = True
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_open(path, "wb") as fh:
            np.save(fh, np.packbits(table), allow_pickle=False)
    except OSError:
        pass  # read-only home: build it each run
    return table


def _scripts_mask(names) -> np.ndarray:
    """``[\\p{Script=A}\\p{Script=B}...]`` as the union of one cached table per script."""
    mask = np.zeros(_NUM_CODEPOINTS, dtype=bool)
    for name in names:
        mask |= class_mask(f"\\p{{Script={name}}}")
    return mask


@functools.cache
def class_table(
    script_names: tuple[str, ...] = (), required: tuple[str, ...] = (), forbidden: tuple[str, ...] = ()
) -> np.ndarray:
    """uint8 table of LETTER/INSIDE/OUTSIDE/REQUIRED/FORBIDDEN/CHARSEG bits (script bits only when names are
    given).

    The classes are those of ``script.script_patterns`` and ``script.presence_pattern``: inside is
    ``[\\p{Script=A}...]``, outside is
    ``[\\p{L}--[\\p{Script=A}...\\p{Script=Common}\\p{Script=Inherited}]]``, CHARSEG marks the codepoints of
    ``CHAR_SCRIPTS``."""
    letters = class_mask(r"\p{L}")
    table = letters.astype(np.uint8)  # LETTER
    table[class_mask(f"[{CHAR_SCRIPTS}]")] |= CHARSEG
    if script_names:
        inside = _scripts_mask(script_names)
        table[inside] |= INSIDE
        table[letters & ~inside & ~_scripts_mask(("Common", "Inherited"))] |= OUTSIDE
    if required:
        table[_scripts_mask(required)] |= REQUIRED
    if forbidden:
        table[_scripts_mask(forbidden)] |= FORBIDDEN
    return table


_BITS = 21  # counts are packed in 21-bit fields of one int64 (texts of a row shorter than 2**21 characters)
_FIELD = (1 << _BITS) - 1


def _starts(mask: np.ndarray) -> np.ndarray:
    """1 where a run of nonzero values begins."""
    out = np.empty(len(mask), dtype=np.int64)
    out[0] = mask[0] != 0
    np.greater(mask[1:], mask[:-1], out=out[1:], casting="unsafe")
    return out


def _tokens(cls: np.ndarray, bit: int) -> np.ndarray:
    """1 where a letter token of class ``bit`` (INSIDE or OUTSIDE) begins: every letter of a
    character-segmented script (CHARSEG) is a token of its own, other letters make maximal runs."""
    both = cls & (bit | CHARSEG)
    return (both == (bit | CHARSEG)).astype(np.int64) + _starts(both == bit)


def _count_one(cls: np.ndarray) -> TextCounts:
    return TextCounts(
        int(_tokens(cls, INSIDE).sum()),
        int(_tokens(cls, OUTSIDE).sum()),
        int(np.count_nonzero(cls & LETTER)),
        int(np.count_nonzero(cls & REQUIRED)),
        int(np.count_nonzero(cls & FORBIDDEN)),
    )


def count_texts(texts: list[str], table: np.ndarray) -> list[TextCounts]:
    """Counts for each text. Letter tokens: each letter of a character-segmented script (Han, kana, Thai...)
    is one token, whatever the language; other letters of the same class (inside / outside the expected
    script) make maximal runs. A few short texts (one generated turn) are counted one by one with byte
    operations (``shortcount``), many with one numpy pass per ~1 M characters."""
    if len(texts) <= _SHORT_MAX_TEXTS and sum(map(len, texts)) <= _SHORT_MAX_CHARS:
        count = short_counter(table)
        return [count(t) for t in texts]
    out: list[TextCounts] = []
    start, size = 0, 0
    for i, text in enumerate(texts):
        size += len(text) + 1
        if size > _FIELD // 2 or i == len(texts) - 1:
            out.extend(_count_batch(texts[start : i + 1], table))
            start, size = i + 1, 0
    return out


def _count_batch(texts: list[str], table: np.ndarray) -> list[TextCounts]:
    if not texts:
        return []
    # "\n" after every text: a separator of no class, so runs never cross texts and no segment is empty
    cls = table[to_codes("\n".join(texts) + "\n")]
    if len(cls) > _FIELD:  # huge texts: unpacked counts, one text at a time
        return [_count_one(table[to_codes(t + "\n")]) for t in texts]
    # fields: letters | in-script tokens << 21 | out-of-script tokens << 42 (one cumulative sum for all)
    packed = (cls & LETTER).astype(np.int64)
    packed += _tokens(cls, INSIDE) << _BITS
    packed += _tokens(cls, OUTSIDE) << (2 * _BITS)
    ends = np.cumsum([len(t) + 1 for t in texts]) - 1
    totals = np.cumsum(packed)[ends]
    totals[1:] -= totals[:-1].copy()
    letters = (totals & _FIELD).tolist()
    n_in = ((totals >> _BITS) & _FIELD).tolist()
    n_out = (totals >> (2 * _BITS)).tolist()
    required = forbidden = [0] * len(texts)
    marks = cls & (REQUIRED | FORBIDDEN)
    if marks.any():
        rf = ((marks & REQUIRED) != 0).astype(np.int64)
        rf += ((marks & FORBIDDEN) != 0).astype(np.int64) << _BITS
        rf = np.cumsum(rf)[ends]
        rf[1:] -= rf[:-1].copy()
        required, forbidden = (rf & _FIELD).tolist(), (rf >> _BITS).tolist()
    return [TextCounts(*c) for c in zip(n_in, n_out, letters, required, forbidden, strict=True)]


def letter_counts(texts: list[str], memo: dict | None = None) -> list[int]:
    """Number of letters (``\\p{L}``) in each text, reusing the counts another gate left in the row's
    ``memo``."""
    known = memo.get("letters") if memo is not None else None
    if known is None or any(t not in known for t in texts):
        counts = count_texts(texts, class_table())
        known = dict(zip(texts, (c.letters for c in counts), strict=True))
        if memo is not None:
            memo.setdefault("letters", {}).update(known)
    return [known[t] for t in texts]
