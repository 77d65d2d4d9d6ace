"""``charclass.count_texts`` for a few short texts (one generated turn): numpy's fixed cost per call
dominates there, so each text becomes a string of class bytes and is counted with C string methods.

The class bytes are the table's values (``charbits`` bits, all below 64): a 256-byte ``bytes.translate``
for ASCII and longer Latin-1 text, a codepoint -> class mapping filled on first sight for other texts up to
32 characters, a numpy gather for longer ones. Letters, required and forbidden letters and the tokens of
character-segmented scripts are counted by deleting the other class bytes
(``bytes.translate(None, delete)``); runs of the other letter tokens by mapping their class bytes to b"x",
all others to b" ", and counting ``bytes.split()`` parts.
"""

from __future__ import annotations

import numpy as np

from moud_core.charbits import CHARSEG, FORBIDDEN, INSIDE, LETTER, OUTSIDE, REQUIRED, TextCounts, to_codes

_MAPPED_MAX_CHARS = 32  # non-ASCII texts up to this length: per-character mapping (cheaper than numpy)


def _deleting(keep) -> bytes:
    """The class bytes to delete from a class string so that those for which ``keep(c)`` remain."""
    return bytes(c for c in range(256) if not keep(c))


def _run_map(bit: int) -> bytes:
    """bytes.translate table: b"x" for the class bytes of ``bit`` letters that make runs (not CHARSEG)."""
    return bytes(ord("x") if c & (bit | CHARSEG) == bit else ord(" ") for c in range(256))


_NOT_LETTER, _NOT_REQUIRED, _NOT_FORBIDDEN, _NOT_OUTSIDE, _NOT_CHARSEG = (
    _deleting(lambda c, b=b: c & b) for b in (LETTER, REQUIRED, FORBIDDEN, OUTSIDE, CHARSEG)
)
_NOT_CHARSEG_IN = _deleting(lambda c: c & (INSIDE | CHARSEG) == INSIDE | CHARSEG)
_RUNS_IN, _RUNS_OUT = _run_map(INSIDE), _run_map(OUTSIDE)


class _ClassChars(dict):
    """codepoint -> its class as a one-character str, for ``str.translate``; filled on first sight."""

    def __init__(self, table: np.ndarray):
        super().__init__()
        self.table = table

    def __missing__(self, codepoint: int) -> str:
        char = self[codepoint] = chr(self.table[codepoint])
        return char


class ShortCounter:
    """Counts of one text with ``table`` (a ``charclass.class_table``), equal to
    ``charclass.count_texts``'s."""

    def __init__(self, table: np.ndarray):
        self.table = table
        self.latin1 = table[:256].tobytes()
        self.mapped = _ClassChars(table)
        masked = table & (INSIDE | CHARSEG)
        self.charseg_in = bool((masked == INSIDE | CHARSEG).any())  # Han, kana, Thai... inside
        self.runs_in = bool((masked == INSIDE).any())
        present = int(np.bitwise_or.reduce(table))
        self.outside = bool(present & OUTSIDE)
        self.required = bool(present & REQUIRED)
        self.forbidden = bool(present & FORBIDDEN)

    def classes(self, text: str) -> bytes:
        """The class byte of each character of ``text``."""
        if text.isascii():
            return text.encode("ascii").translate(self.latin1)
        if len(text) <= _MAPPED_MAX_CHARS:
            return text.translate(self.mapped).encode("ascii")
        try:
            return text.encode("latin-1").translate(self.latin1)
        except UnicodeEncodeError:
            return self.table[to_codes(text)].tobytes()

    def __call__(self, text: str) -> TextCounts:
        cls = self.classes(text)
        n_in = n_out = 0
        if self.charseg_in:
            n_in = len(cls.translate(None, _NOT_CHARSEG_IN))
        if self.runs_in:
            n_in += len(cls.translate(_RUNS_IN).split())
        if self.outside:
            out = cls.translate(None, _NOT_OUTSIDE)
            if out:
                n_out = len(out.translate(None, _NOT_CHARSEG)) + len(cls.translate(_RUNS_OUT).split())
        return TextCounts(
            n_in,
            n_out,
            len(cls.translate(None, _NOT_LETTER)),
            len(cls.translate(None, _NOT_REQUIRED)) if self.required else 0,
            len(cls.translate(None, _NOT_FORBIDDEN)) if self.forbidden else 0,
        )


_COUNTERS: dict[int, ShortCounter] = {}  # by id of the table (the counter keeps its table alive)


def short_counter(table: np.ndarray) -> ShortCounter:
    """The counter of ``table`` (made once per table)."""
    counter = _COUNTERS.get(id(table))
    if counter is None or counter.table is not table:
        if len(_COUNTERS) >= 64:  # tables built outside class_table's cache: keep memory bounded
            _COUNTERS.clear()
        counter = _COUNTERS[id(table)] = ShortCounter(table)
    return counter
