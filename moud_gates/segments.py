"""The parts of a text that the language gates judge on their own besides the whole text, so that another
language mixed into a turn is seen even when the rest of the turn outweighs it:

* ``bracket``: the content of (...), [...], （...） and 【...】 ("je m'évanouis (I faint when I see blood)");
* ``gloss``: the parts around a dash separator (" - ", " — ", "— i.e. ...", " – ");
* ``sentence``: the sentences of a text that has several (outside brackets, within each dash part).
"""

from __future__ import annotations

import functools
import re
from typing import NamedTuple

_BRACKETS = re.compile(r"\(([^()\n]*)\)|\[([^\[\]\n]*)\]|（([^（）\n]*)）|【([^【】\n]*)】")
_DASH = re.compile(r"\s+[-–—]{1,2}\s+|\s*[—–]\s*(?=\D)")
_SENTENCE = re.compile(r"(?<=[.!?…])\s+|(?<=[。！？])|\n+")
_HINTS = re.compile(r"[(\[（【\-–—.!?…。！？\n]")  # no segments without one of these before the end
_TRAILING = " \t\n.!?…。！？\"'»”」)]）】"


class Segment(NamedTuple):
    kind: str  # "bracket", "gloss" or "sentence"
    text: str


def _has_any(text: str, chars: str) -> bool:
    """Whether ``text`` contains one of ``chars`` (a precheck before running a regex that needs one)."""
    return any(ch in text for ch in chars)


@functools.lru_cache(maxsize=1 << 16)
def split_segments(text: str) -> tuple[Segment, ...]:
    """The segments of ``text`` (stripped, distinct, none equal to the whole text); remembered."""
    end = len(text.rstrip(_TRAILING))
    if not _HINTS.search(text, 0, end):  # one sentence, no brackets or dashes (punctuation at the end only)
        return ()
    out: list[Segment] = []
    outside = text
    if "(" in text or "[" in text or "（" in text or "【" in text:
        for m in _BRACKETS.finditer(text):
            out.append(Segment("bracket", next(g for g in m.groups() if g is not None)))
        outside = _BRACKETS.sub(" ", text)
    parts = _DASH.split(outside) if _has_any(outside, "-–—") else [outside]
    if len(parts) > 1:
        out.extend(Segment("gloss", p) for p in parts)
    if _has_any(outside, ".!?…。！？\n"):
        sentences = [s for p in parts for s in _SENTENCE.split(p) if s.strip()]
    else:  # no sentence break possible
        sentences = [p for p in parts if p.strip()]
    if len(sentences) > 1:
        out.extend(Segment("sentence", s) for s in sentences)
    whole = text.strip()
    seen: set[str] = set()
    kept = []
    for kind, part in out:
        part = part.strip()
        if part and part != whole and part not in seen:
            seen.add(part)
            kept.append(Segment(kind, part))
    return tuple(kept)


def sentences(text: str) -> list[str]:
    """The sentences of ``text`` (its sentence segments), or the text itself when it has one."""
    parts = [s.text for s in split_segments(text) if s.kind == "sentence"]
    return parts or [text]
