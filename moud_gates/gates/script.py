"""Script gate: the share of letter tokens written in the language's expected Unicode script(s).

Tokens: each letter of a script written without spaces (Han, kana, Thai...) is one token, whatever the
language, and other letters make runs; so an English brand name inside a Chinese sentence counts once,
and a Chinese sentence inside a French or Korean turn counts once per character. Letters of the
Common/Inherited scripts (e.g. "ー") are neutral. The whole text and each of its segments (``segments.py``:
bracketed parts, parts around a dash, sentences) are judged. Optionally a script must be present (Japanese
needs kana: a long Han-only text is Chinese) or absent (kana in Chinese).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import regex

from moud_core.charclass import CHAR_SCRIPTS, TextCounts, class_table, count_texts
from moud_core.errors import ConfigError
from moud_core.typed_config import at_least, between
from moud_core.writing_systems import WRITING_SYSTEMS_PATH, unicode_scripts
from moud_gates.base import Drop, Gate, GateContext, TextItem, clip, register, row_texts
from moud_gates.segments import split_segments


def _class(names) -> str:
    return "".join(f"\\p{{Script={n}}}" for n in names)


def _names(script: str) -> list[str]:
    names = unicode_scripts(script)
    if not names:
        raise ConfigError(f"{WRITING_SYSTEMS_PATH}: no Unicode scripts listed for registry script {script!r}")
    return names


@functools.cache
def script_patterns(script: str) -> tuple[regex.Pattern, regex.Pattern]:
    """(in-script token pattern, out-of-script token pattern) for a registry script: the reference for
    ``charclass.count_texts``."""
    inside = f"[{_class(_names(script))}]"
    outside = rf"[\p{{L}}--[{_class(_names(script))}\p{{Script=Common}}\p{{Script=Inherited}}]]"

    def tokens(letters: str) -> regex.Pattern:
        return regex.compile(rf"(?V1)[{letters}&&[{CHAR_SCRIPTS}]]|[{letters}--[{CHAR_SCRIPTS}]]+")

    return tokens(inside), tokens(outside)


@functools.cache
def presence_pattern(names: tuple[str, ...]) -> regex.Pattern:
    return regex.compile(f"[{_class(list(names))}]")


def script_share(text: str, script: str) -> tuple[float, int]:
    """(share of letter tokens in ``script``, number of letter tokens)."""
    inside, outside = script_patterns(script)
    n_in, n_out = len(inside.findall(text)), len(outside.findall(text))
    total = n_in + n_out
    return (n_in / total if total else 1.0), total


def script_class_table(script: str, required=(), forbidden=()):
    """The codepoint table (charclass.class_table) of a registry script and the required/forbidden scripts."""
    return class_table(tuple(_names(script)), tuple(required), tuple(forbidden))


@functools.cache
def _known_script(name: str) -> bool:
    """Whether ``name`` is a Unicode script name the regex module knows (``Hiragana``, ``Hangul``)."""
    try:
        regex.compile(rf"\p{{Script={name}}}")
    except regex.error:
        return False
    return True


@functools.cache
def _counting(script: str, required: tuple, forbidden: tuple) -> tuple[tuple, object]:
    """(memo key, codepoint table) of a script setting."""
    return ("script_counts", script, required, forbidden), script_class_table(script, required, forbidden)


def counts_key(lang, params: dict) -> tuple:
    """The memo key under which ``text_counts`` keeps the counts for this language and script settings."""
    return _counting(lang.script, tuple(params["require_any"]), tuple(params["forbid_any"]))[0]


def text_counts(
    texts: list[str], script: str, required=(), forbidden=(), memo: dict | None = None
) -> dict[str, TextCounts]:
    """Script/letter counts of ``texts`` (same numbers as ``script_share`` and ``presence_pattern``),
    memoized in ``memo`` (a dict that may also hold other texts' counts); only texts not there are counted."""
    key, table = _counting(script, tuple(required), tuple(forbidden))
    cached = memo.get(key) if memo is not None else None
    if cached is not None:
        texts = [t for t in texts if t not in cached]
        if not texts:
            return cached
    counts = dict(zip(texts, count_texts(texts, table), strict=True))
    if memo is not None:
        letters = memo.get("letters")
        if letters is None:
            letters = memo["letters"] = {}
        for text, c in counts.items():
            letters[text] = c.letters
        if cached is not None:
            cached.update(counts)
            return cached
        memo[key] = counts
    return counts


@register
class ScriptGate(Gate):
    name = "script"
    history = False

    @dataclass(frozen=True)
    class Params:
        """``script`` settings (data/filters.yaml); script names are Unicode script names (``Hiragana``)."""

        min_share: float = field(metadata=between(0, 1))
        min_tokens: int = field(metadata=at_least(0))
        require_any: tuple[str, ...]
        require_min_tokens: int = field(metadata=at_least(0))
        segment_require_min_tokens: int = field(metadata=at_least(0))
        forbid_any: tuple[str, ...]
        forbid_min_letters: int = field(metadata=at_least(1))
        foreign_only_min_letters: int = field(metadata=at_least(1))
        segment_max_share: float = field(metadata=between(0, 1))
        max_failed: int = field(metadata=at_least(0))

        def check(self, need) -> None:
            for key in ("require_any", "forbid_any"):
                bad = [n for n in getattr(self, key) if not _known_script(n)]
                need(not bad, key, f"Unicode script names (Hiragana, Hangul...); unknown: {', '.join(bad)}")

    @staticmethod
    def _counts(texts: list[str], ctx: GateContext, memo: dict | None) -> dict[str, TextCounts]:
        p = ctx.params
        return text_counts(texts, ctx.lang.script, p["require_any"], p["forbid_any"], memo)

    def warm(self, ctx: GateContext) -> None:
        """Build the codepoint table of ``ctx.lang`` now (before worker processes fork)."""
        script_class_table(ctx.lang.script, ctx.params["require_any"], ctx.params["forbid_any"])

    @staticmethod
    def segments(text: str, counts: TextCounts, ctx: GateContext) -> tuple:
        """The segments of ``text`` that can fail when the whole text (``counts``) passes: only a text with
        letters of another script, or of a language that requires a script (Japanese kana), has them."""
        if not counts.outside and not ctx.params["require_any"]:
            return ()
        return split_segments(text)

    def prefill(self, rows: list[dict], memos: list[dict], ctxs: list[GateContext]) -> None:
        """Script and letter counts of every text of ``rows`` (one language) and of its segments that can
        fail, in two passes."""
        texts = list(
            dict.fromkeys(
                t for row, memo in zip(rows, memos, strict=True) for _, t in row_texts(row, memo=memo)
            )
        )
        shared: dict = {}  # the same count dicts for every row of the chunk
        self.prefill_texts(texts, GateContext(ctxs[0].lang, ctxs[0].params, ctxs[0].counters, shared))
        for memo in memos:
            memo.update(shared)

    def prefill_texts(self, texts: list[str], ctx: GateContext) -> None:
        """Script and letter counts of ``texts`` and of their segments that can fail, in two passes."""
        counts = self._counts(texts, ctx, ctx.memo)
        parts = [seg.text for t in texts for seg in self.segments(t, counts[t], ctx)]
        if parts:
            self._counts(list(dict.fromkeys(parts)), ctx, ctx.memo)

    def judge_counts(
        self, counts: TextCounts, ctx: GateContext, segment: bool = False
    ) -> tuple[str, dict] | None:
        """(reason, scores) when a text (or a segment of one) with these counts fails, else None."""
        p, script, code = ctx.params, ctx.lang.script, ctx.lang.code
        tokens = counts.inside + counts.outside
        share = counts.inside / tokens if tokens else 1.0
        if segment:
            if tokens >= p["min_tokens"] and share <= p["segment_max_share"]:
                return (
                    f"{share:.0%} of letter tokens in {script}, "
                    f"expected more than {p['segment_max_share']:.0%}",
                    {"share": round(share, 4)},
                )
        elif not counts.inside and counts.outside and counts.letters >= p["foreign_only_min_letters"]:
            return (f"no letter in {script} ({counts.letters} letters of other scripts)", {"share": 0.0})
        if not segment and tokens >= p["min_tokens"] and share < p["min_share"]:
            return (
                f"{share:.0%} of letter tokens in {script}, expected at least {p['min_share']:.0%}",
                {"share": round(share, 4)},
            )
        required, forbidden = tuple(p["require_any"]), tuple(p["forbid_any"])
        least = p["segment_require_min_tokens"] if segment else p["require_min_tokens"]
        if required and tokens >= least and not counts.required:
            return (
                f"no {'/'.join(required)} letters in {tokens} letter tokens (expected for {code})",
                {"share": round(share, 4), "missing": list(required)},
            )
        if forbidden:
            found = counts.forbidden
            if found >= p["forbid_min_letters"]:
                return (
                    f"{found} {'/'.join(forbidden)} letters (not used in {code})",
                    {"share": round(share, 4), "forbidden": found},
                )
        return None

    def judge(self, text: str, ctx: GateContext) -> tuple[str, dict, str | None] | None:
        """(reason, scores, the failing segment or None for the whole text) when ``text`` or one of its
        segments fails, else None."""
        known = self._counts([text], ctx, ctx.memo)
        verdict = self.judge_counts(known[text], ctx)
        if verdict is not None:
            return (*verdict, None)
        segments = self.segments(text, known[text], ctx)
        if segments:
            known = self._counts([seg.text for seg in segments], ctx, ctx.memo)
        for seg in segments:
            verdict = self.judge_counts(known[seg.text], ctx, segment=True)
            if verdict is not None:
                reason, scores = verdict
                return f"{seg.kind} {seg.text!r}: {reason}", {**scores, "segment": seg.text}, seg.text
        return None

    def check(self, row: dict, ctx: GateContext) -> Drop | None:
        texts = [t for _, t in row_texts(row, memo=ctx.memo)]
        counts = self._counts(texts, ctx, ctx.memo)  # all texts in one pass
        p = ctx.params
        if not p["require_any"] and not p["forbid_any"] and not any(counts[t].outside for t in texts):
            return None  # every letter in the expected script: no text or segment can fail
        return super().check(row, ctx)

    def check_text(self, item: TextItem, ctx: GateContext) -> Drop | None:
        verdict = self.judge(item.text, ctx)
        if verdict is None:
            return None
        reason, scores, _segment = verdict
        return Drop(
            self.name, f"{item.where}: {reason} ({clip(item.text, 40)!r})", {"field": item.where, **scores}
        )
