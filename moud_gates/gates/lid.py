"""Language-ID gate (fastText lid.176 / GlotLID): predicts a row's texts and their judged segments in one
batch (or prefilled per chunk, ``prefill``), one text at a time inline (``check_text``), and applies the
rules of ``lid_rules.py``; failures become drops with ``lid_drops.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from moud_core.charclass import letter_counts
from moud_core.typed_config import at_least, between
from moud_gates.base import Drop, Gate, GateContext, TextItem, register, row_texts
from moud_gates.lid.drops import failure_drop
from moud_gates.lid.model import LidModel, bundled_model_path, glotlid_labels
from moud_gates.lid.rules import LidVerdict, judge_text, lid_depth
from moud_gates.lid.words import english_share, english_words, has_english_word, target_words
from moud_gates.segments import split_segments

__all__ = [
    "LidGate",
    "LidModel",
    "bundled_model_path",
    "english_share",
    "english_words",
    "glotlid_labels",
    "target_words",
]


@register
class LidGate(Gate):
    name = "lid"
    history = False
    # texts with fewer than min_chars letters (counted, not judged); texts the model had nothing to go on
    counts = ("skipped_short", "undetermined")

    @dataclass(frozen=True)
    class Params:
        """``lid`` settings (data/filters.yaml); ``*_max_target`` above 1 turns a rule off."""

        top_k: int = field(metadata=at_least(1))
        min_prob: float = field(metadata=between(0, 1))
        min_chars: int = field(metadata=at_least(0))
        min_other_prob: float = field(metadata=between(0, 1))
        also_accept: tuple[str, ...]
        check_persona: bool
        check_common_ground: bool
        max_failed: int = field(metadata=at_least(0))
        english_min_prob: float = field(metadata=between(0, 1))
        english_min_share: float = field(metadata=between(0, 1))
        english_confident_prob: float = field(metadata=between(0, 1))
        english_confident_share: float = field(metadata=between(0, 1))
        english_words_share: float = field(metadata=between(0, 1))
        english_min_tokens: int = field(metadata=at_least(0))
        foreign_min_prob: float = field(metadata=between(0, 1))
        foreign_max_target: float = field(metadata=at_least(0))
        target_min_share: float = field(metadata=between(0, 1))
        lexical_min_words: int = field(metadata=at_least(1))
        segment_min_chars: int = field(metadata=at_least(0))
        sentence_min_chars: int = field(metadata=at_least(0))
        segment_min_prob: float = field(metadata=between(0, 1))
        segment_max_target: float = field(metadata=at_least(0))
        max_undetermined_share: float = field(metadata=between(0, 1))

    def __init__(self, model: LidModel):
        self.model = model

    @classmethod
    def from_config(cls, config, resources: dict) -> LidGate:
        model = resources.get("lid_model")
        if model is None:
            model = resources["lid_model"] = LidModel(
                config.raw.get("lid_model"),
                config.raw.get("lid_labels", "fasttext"),
                config.raw.get("lid_backend", "auto"),
            )
        return cls(model)

    def warm(self, ctx: GateContext) -> None:
        """Load the word lists of ``ctx.lang`` and the model's prior now."""
        english_words(ctx.lang.code)
        target_words(ctx.lang.code)
        self.model.prior(lid_depth(ctx.params))

    def texts(self, row: dict, ctx: GateContext) -> list[tuple[str, str]]:
        return row_texts(row, ctx.params["check_persona"], ctx.params["check_common_ground"], ctx.memo)

    def applies(self, where: str, ctx: GateContext) -> bool:
        if where == "common_ground":
            return ctx.params["check_common_ground"]
        return where.startswith("turns[") or ctx.params["check_persona"]

    def predict_texts(self, texts, lang, params: dict) -> dict:
        """What the checks need for these texts of language ``lang``, computed in batches: ``sure``, text ->
        target probability for texts that pass on their own (the target label is certainly the top label
        above min_prob; single-label targets only), and ``preds``, text -> top-k for the others."""
        if len(texts) > 1:
            texts = list(dict.fromkeys(texts))
        sure: dict[str, float] = {}
        if not params["also_accept"]:
            probs = self.model.sure_top1(texts, lang.lid_label, params["min_prob"])
            sure = {text: prob for text, prob in zip(texts, probs, strict=True) if prob is not None}
        rest = [t for t in texts if t not in sure] if sure else texts
        return {"sure": sure, "preds": self.model.predict_map(rest, lid_depth(params)) if rest else {}}

    def segments(self, text: str, ctx: GateContext) -> tuple:
        """The segments of ``text`` that language ID judges: brackets and dash parts, and sentences when the
        text has an English function word at all (sentences are judged for English only)."""
        segments = split_segments(text)
        if not segments:
            return ()
        cache = ctx.memo.setdefault("lid_segments", {}) if ctx.memo is not None else {}
        got = cache.get(text)
        if got is None:
            english = has_english_word(ctx.tokens(text), ctx.lang.code, text)
            got = cache[text] = tuple(seg for seg in segments if english or seg.kind != "sentence")
        return got

    def texts_and_segments(self, texts, ctx: GateContext) -> list[str]:
        """``texts`` and the texts of their judged segments, each once."""
        if len(texts) == 1 and not split_segments(texts[0]):
            return list(texts)
        out: dict[str, None] = {}
        for text in texts:
            out[text] = None
            for seg in self.segments(text, ctx):
                out[seg.text] = None
        return list(out)

    def prefill(self, rows: list[dict], memos: list[dict], ctxs: list[GateContext]) -> None:
        """LID results for every text of ``rows`` (one language) and its judged segments, one batch (memo
        key ("lid", code))."""
        ctx = ctxs[0]
        texts: dict[str, None] = {}
        for row, c in zip(rows, ctxs, strict=True):
            for _, text in self.texts(row, c):
                texts[text] = None
                if split_segments(text):
                    texts.update((seg.text, None) for seg in self.segments(text, c))
        pre = self.predict_texts(list(texts), ctx.lang, ctx.params)
        for memo in memos:
            memo[("lid", ctx.lang.code)] = pre

    def prefill_texts(self, texts: list[str], ctx: GateContext) -> None:
        """LID results for ``texts`` (one language) and their judged segments, one batch (memo key
        ("lid", code)): what ``check_text`` reads instead of predicting its text on its own."""
        ctx.memo[("lid", ctx.lang.code)] = self.predict_texts(
            self.texts_and_segments(texts, ctx), ctx.lang, ctx.params
        )

    def _predictions(self, texts: list[str], ctx: GateContext) -> dict:
        """The prefilled results when they cover ``texts`` and their judged segments, else computed now."""
        key = ("lid", ctx.lang.code)
        texts = self.texts_and_segments(texts, ctx)
        pre = ctx.memo.get(key) if ctx.memo is not None else None
        if pre is None or any(t not in pre["sure"] and t not in pre["preds"] for t in texts):
            pre = self.predict_texts(texts, ctx.lang, ctx.params)
            if ctx.memo is not None:
                ctx.memo[key] = pre
        return pre

    def judge(self, text: str, n_letters: int, pre: dict, ctx: GateContext) -> LidVerdict:
        """The LID rules for one text and its segments (``pre``: from ``predict_texts``)."""
        return judge_text(self.model, text, n_letters, pre, self.segments, ctx)

    def check_text(self, item: TextItem, ctx: GateContext) -> Drop | None:
        text = item.text
        pre = self._predictions([text], ctx)
        verdict = judge_text(self.model, text, letter_counts([text], ctx.memo)[0], pre, self.segments, ctx)
        ctx.count("skipped_short", verdict.short)
        ctx.count("undetermined", verdict.undetermined)
        return (
            None
            if verdict.failure is None
            else failure_drop(self.name, item.where, text, verdict.failure, ctx)
        )

    def check(self, row: dict, ctx: GateContext) -> Drop | None:
        """Per-text rules over the row's texts; fills ``metadata.lid_scores`` (one score per turn) and fails
        the row when more than ``max_failed`` texts fail, or when more than ``max_undetermined_share`` of
        its judged texts are undetermined (the dialogue gives no evidence of its language)."""
        p = ctx.params
        items = self.texts(row, ctx)
        texts = [t for _, t in items]
        letters = letter_counts(texts, ctx.memo)
        pre = self._predictions(texts, ctx)
        sure = pre["sure"]
        if all(
            t in sure and (not split_segments(t) or all(seg.text in sure for seg in self.segments(t, ctx)))
            for t in texts
        ):
            # the common case: every text and segment is certainly in the target language
            ctx.count("skipped_short", sum(n < p["min_chars"] for n in letters))
            row["metadata"]["lid_scores"] = [round(sure[turn["text"]], 4) for turn in row["turns"]]
            return None
        failed, skipped, undetermined, turn_scores = [], 0, 0, []
        for (where, text), n_letters in zip(items, letters, strict=True):
            verdict = self.judge(text, n_letters, pre, ctx)
            if where.startswith("turns["):
                turn_scores.append(verdict.score)
            skipped += verdict.short
            undetermined += verdict.undetermined
            if verdict.failure is not None:
                failed.append((where, text, verdict.failure))
        ctx.count("skipped_short", skipped)
        ctx.count("undetermined", undetermined)
        row["metadata"]["lid_scores"] = turn_scores
        if len(failed) > p["max_failed"]:
            return failure_drop(self.name, *failed[0], ctx).with_scores(
                failed=len(failed), skipped_short=skipped
            )
        judged = len(items) - skipped
        if undetermined and judged >= 3 and undetermined > p["max_undetermined_share"] * judged:
            return Drop(
                self.name,
                f"{undetermined} of {judged} texts undetermined (the model has no known "
                f"n-gram of them), more than {p['max_undetermined_share']:.0%}",
                {"kind": "undetermined", "undetermined": undetermined, "judged": judged},
            )
        return None
