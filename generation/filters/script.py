"""Script gate: the share of tokens written in the language's expected Unicode script(s).

Tokens are characters for CJK-style scripts (each Han/kana letter) and letter runs otherwise, so an
English brand name inside a Chinese sentence counts once, not once per letter. Letters of the
Common/Inherited scripts (e.g. "ー") are neutral. Optionally a script must be present (Japanese needs
kana: a long Han-only text is Chinese).
"""

from __future__ import annotations

import functools

import regex

from generation.filters.base import Drop, Gate, GateContext, clip, row_texts
from generation.filters.config import DATA_DIR
from moud_core.charclass import TextCounts, class_table, count_texts
from moud_core.errors import ConfigError
from moud_core.yamlio import load_yaml

_SCRIPTS_PATH = DATA_DIR / "scripts.yaml"


@functools.lru_cache(maxsize=1)
def script_table() -> dict[str, list[str]]:
    return load_yaml(_SCRIPTS_PATH)


def _class(names) -> str:
    return "".join(f"\\p{{Script={n}}}" for n in names)


@functools.cache
def script_patterns(script: str, segmentation: str) -> tuple[regex.Pattern, regex.Pattern]:
    """(in-script token pattern, out-of-script token pattern) for a registry script."""
    names = script_table().get(script)
    if not names:
        raise ConfigError(f"{_SCRIPTS_PATH}: no Unicode scripts listed for registry script {script!r}")
    inside = f"[{_class(names)}]" + ("" if segmentation == "chars" else "+")
    outside = rf"(?V1)[\p{{L}}--[{_class(names)}\p{{Script=Common}}\p{{Script=Inherited}}]]+"
    return regex.compile(inside), regex.compile(outside)


@functools.cache
def presence_pattern(names: tuple[str, ...]) -> regex.Pattern:
    return regex.compile(f"[{_class(list(names))}]")


def script_share(text: str, script: str, segmentation: str = "words") -> tuple[float, int]:
    """(share of letter tokens in ``script``, number of letter tokens)."""
    inside, outside = script_patterns(script, segmentation)
    n_in, n_out = len(inside.findall(text)), len(outside.findall(text))
    total = n_in + n_out
    return (n_in / total if total else 1.0), total


def script_class_table(script: str, required=(), forbidden=()):
    """The codepoint table (charclass.class_table) of a registry script and the required/forbidden scripts."""
    names = script_table().get(script)
    if not names:
        raise ConfigError(f"{_SCRIPTS_PATH}: no Unicode scripts listed for registry script {script!r}")
    return class_table(tuple(names), tuple(required), tuple(forbidden))


def text_counts(texts: list[str], script: str, segmentation: str, required=(), forbidden=(),
                memo: dict | None = None) -> dict[str, TextCounts]:
    """Script/letter counts of ``texts`` (one numpy pass, same numbers as ``script_share`` and
    ``presence_pattern``), memoized per row in ``memo``."""
    key = ("script_counts", script, segmentation, tuple(required), tuple(forbidden))
    cached = memo.get(key) if memo is not None else None
    if cached is not None and all(t in cached for t in texts):
        return cached
    table = script_class_table(script, required, forbidden)
    counts = dict(zip(texts, count_texts(texts, table, segmentation == "chars"), strict=True))
    if memo is not None:
        memo[key] = counts
        memo.setdefault("letters", {}).update((t, c.letters) for t, c in counts.items())
    return counts


class ScriptGate(Gate):
    name = "script"

    def judge_counts(self, counts: TextCounts, ctx: GateContext) -> tuple[str, dict] | None:
        """(reason, scores) when a text with these counts fails, else None."""
        p, script, code = ctx.params, ctx.lang.script, ctx.lang.code
        tokens = counts.inside + counts.outside
        share = counts.inside / tokens if tokens else 1.0
        if tokens >= p["min_tokens"] and share < p["min_share"]:
            return (f"{share:.0%} of letter tokens in {script}, expected at least {p['min_share']:.0%}",
                    {"share": round(share, 4)})
        required, forbidden = tuple(p["require_any"]), tuple(p["forbid_any"])
        if required and tokens >= p["require_min_tokens"] and not counts.required:
            return (f"no {'/'.join(required)} letters in {tokens} letter tokens (expected for {code})",
                    {"share": round(share, 4), "missing": list(required)})
        if forbidden:
            found = counts.forbidden
            if found >= p["forbid_min_letters"]:
                return (f"{found} {'/'.join(forbidden)} letters (not used in {code})",
                        {"share": round(share, 4), "forbidden": found})
        return None

    def judge(self, text: str, ctx: GateContext) -> tuple[str, dict] | None:
        """(reason, scores) when ``text`` fails, else None."""
        p = ctx.params
        counts = text_counts([text], ctx.lang.script, ctx.lang.segmentation, p["require_any"], p["forbid_any"])
        return self.judge_counts(counts[text], ctx)

    def check(self, row: dict, ctx: GateContext) -> Drop | None:
        p = ctx.params
        items = row_texts(row, memo=ctx.memo)
        counts = text_counts([t for _, t in items], ctx.lang.script, ctx.lang.segmentation, p["require_any"],
                             p["forbid_any"], ctx.memo)
        failed = []
        for where, text in items:
            verdict = self.judge_counts(counts[text], ctx)
            if verdict is not None:
                failed.append((where, text, *verdict))
        if len(failed) > p["max_failed"]:
            where, text, reason, scores = failed[0]
            return Drop(self.name, f"{where}: {reason} ({clip(text, 40)!r})",
                        {"field": where, **scores, "failed": len(failed)})
        return None
