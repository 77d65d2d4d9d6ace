"""``split_segments`` skips its dash and sentence regexes when a text has none of the characters they need:
the segments are those of running every regex on every text."""

from __future__ import annotations

from generation.testing.crowdworker import BANK
from moud_gates.segments import (
    _BRACKETS,
    _DASH,
    _HINTS,
    _SENTENCE,
    _TRAILING,
    Segment,
    split_segments,
)
from tests.core.helpers import random_mixed_texts
from tests.gates.helpers import EDGE_CASES, PERSONAS, TEXTS, random_texts


def every_regex_segments(text: str) -> tuple[Segment, ...]:
    """The segments with no prechecks but the ``_HINTS`` one (the reference)."""
    if not _HINTS.search(text, 0, len(text.rstrip(_TRAILING))):
        return ()
    out = [Segment("bracket", next(g for g in m.groups() if g is not None)) for m in _BRACKETS.finditer(text)]
    parts = _DASH.split(_BRACKETS.sub(" ", text))
    if len(parts) > 1:
        out.extend(Segment("gloss", p) for p in parts)
    sentences = [s for p in parts for s in _SENTENCE.split(p) if s.strip()]
    if len(sentences) > 1:
        out.extend(Segment("sentence", s) for s in sentences)
    kept: dict[str, Segment] = {}
    for kind, part in out:
        part = part.strip()
        if part and part != text.strip() and part not in kept:
            kept[part] = Segment(kind, part)
    return tuple(kept.values())


def test_split_segments_equals_running_every_regex():
    bank = [t for lang in BANK.values() for kind in lang.values() for t in kind if isinstance(t, str)]
    real = [t for lang in TEXTS for t in TEXTS[lang] + PERSONAS[lang]] + EDGE_CASES + bank
    glued = [
        f"{a}{sep}{b}"
        for a, b in zip(real, real[1:], strict=False)
        for sep in (" - ", "— ", ". ", "。", " (x) ", "\n")
    ]
    texts = real + glued + random_texts(2000) + random_mixed_texts(2000, seed=5)
    with_segments = 0
    for text in texts:
        expected = every_regex_segments(text)
        assert split_segments.__wrapped__(text) == expected, text
        with_segments += bool(expected)
    assert with_segments > 1000
