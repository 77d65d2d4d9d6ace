"""Language-ID gate (fastText lid.176 / GlotLID).

A text passes when the target (or an ``also_accept`` label) is in the top-k above ``min_prob`` and no rule
finds positive evidence of another language: an English turn (English top label and English function
words), a confident foreign top label, or, in a bracketed part, a part around a dash or a sentence of the
text (``segments.py``), English or another confident language. Labels whose script has no letter in the
text are ignored, and a text on which the model has nothing to go on (its prediction is the model's prior,
the prediction for "") is *undetermined*: counted, neither passed nor failed on the model's word; the
script gate has judged its script and the dialogue is decided by its other texts.
"""

from __future__ import annotations

from typing import NamedTuple

from generation.filters.base import Drop, Gate, GateContext, TextItem, clip, register, row_texts
from generation.filters.lid_model import LidModel, bundled_model_path, glotlid_labels
from generation.filters.lid_words import (
    english_share,
    english_words,
    plausible,
    target_words,
    word_share,
)
from generation.filters.segments import split_segments
from moud_core.charclass import letter_counts

__all__ = [
    "LidGate",
    "LidModel",
    "bundled_model_path",
    "english_share",
    "english_words",
    "glotlid_labels",
    "target_words",
]


def lid_depth(params: dict) -> int:
    """How many labels the gate asks the model for (top-k, and at least 5 for its other rules)."""
    return max(int(params["top_k"]), 5)


class Failure(NamedTuple):
    kind: str  # not_target, english_turn, foreign_top1, english_segment, foreign_segment
    target: float
    pred: list  # the plausible labels, best first
    extra: dict
    segment: tuple | None = None  # (kind, text) of the failing segment


class LidVerdict(NamedTuple):
    """One text's LID outcome: ``score`` (the target's probability, reported for turns), ``short`` (fewer
    than min_chars letters: counted, not judged), ``undetermined`` (the model had nothing to go on) and
    ``failure`` or None."""

    score: float
    short: bool
    undetermined: bool
    failure: Failure | None


@register
class LidGate(Gate):
    name = "lid"
    history = False

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
        texts = list(dict.fromkeys(texts))
        sure: dict[str, float] = {}
        if not params["also_accept"]:
            probs = self.model.sure_top1(texts, lang.lid_label, params["min_prob"])
            sure = {text: prob for text, prob in zip(texts, probs, strict=True) if prob is not None}
        rest = [t for t in texts if t not in sure] if sure else texts
        return {"sure": sure, "preds": self.model.predict_map(rest, lid_depth(params))}

    def segments(self, text: str, ctx: GateContext) -> tuple:
        """The segments of ``text`` that language ID judges: brackets and dash parts, and sentences when the
        text has an English function word at all (sentences are judged for English only)."""
        segments = split_segments(text)
        if not segments:
            return ()
        cache = ctx.memo.setdefault("lid_segments", {}) if ctx.memo is not None else {}
        got = cache.get(text)
        if got is None:
            english = english_share(ctx.tokens(text), ctx.lang.code, text) > 0
            got = cache[text] = tuple(seg for seg in segments if english or seg.kind != "sentence")
        return got

    def texts_and_segments(self, texts, ctx: GateContext) -> list[str]:
        """``texts`` and the texts of their judged segments, each once."""
        out: dict[str, None] = {}
        for text in texts:
            out[text] = None
            if split_segments(text):
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

    def _plausible(self, text: str, pred: list, ctx: GateContext) -> list | None:
        """``pred`` without the labels whose script has no letter in ``text``; None when the model had
        nothing to go on (its prior, or no plausible label left)."""
        if not pred or pred == self.model.prior(len(pred)):
            return None
        seen = ctx.memo.setdefault("text_scripts", {}).setdefault(text, {}) if ctx.memo is not None else {}
        kept = [(lab, prob) for lab, prob in pred if plausible(lab, text, seen)]
        return kept or None

    def _target(self, pred: list, ctx: GateContext) -> tuple[float, bool]:
        """(accepted labels' probability summed over the top-k, whether one is in the top-k)."""
        targets = (ctx.lang.lid_label, *ctx.params["also_accept"])
        target, in_top = 0, False  # int 0 like sum(): a text without target label scores 0
        for lab, prob in pred[: int(ctx.params["top_k"])]:
            if lab in targets:
                target, in_top = target + prob, True
        return target, in_top

    def _english(self, text: str, pred: list, ctx: GateContext) -> dict | None:
        """Scores when the English rule fires: at least ``english_min_tokens`` tokens and English function
        words (data/english_words.yaml) making up ``english_words_share`` of them, or fewer with English as
        the model's top label (``english_min_share`` at ``english_min_prob``, ``english_confident_share`` at
        ``english_confident_prob``)."""
        p, lang = ctx.params, ctx.lang
        if lang.lid_label == "en" or "en" in p["also_accept"]:
            return None
        tokens = ctx.tokens(text)
        if len(tokens) < p["english_min_tokens"]:
            return None
        share = english_share(tokens, lang.code, text)
        en = pred[0][1] if pred and pred[0][0] == "en" else 0.0
        if (
            share >= p["english_words_share"]
            or (en >= p["english_min_prob"] and share >= p["english_min_share"])
            or (en >= p["english_confident_prob"] and share >= p["english_confident_share"])
        ):
            return {"english_share": round(share, 4)}
        return None

    def _native(self, text: str, ctx: GateContext) -> tuple[bool, dict]:
        """(whether ``text`` has enough common target-language words to be rescued, their share as scores)."""
        words = target_words(ctx.lang.code)
        if not words:
            return False, {}
        share = word_share(ctx.tokens(text), words)
        return share >= ctx.params["target_min_share"], {"target_share": round(share, 4)}

    def _foreign(
        self, pred: list, target: float, min_prob: float, max_target: float, ctx: GateContext
    ) -> bool:
        """Whether a label other than the accepted ones and English (which has its own rule, on English
        words: English names and loanwords make lid.176 say English) is on top with ``min_prob`` and the
        target has at most ``max_target``."""
        targets = (ctx.lang.lid_label, *ctx.params["also_accept"])
        top, prob = pred[0]
        return top not in targets and top != "en" and prob >= min_prob and target <= max_target

    def judge_whole(self, text: str, pred: list, ctx: GateContext) -> Failure | None:
        """The whole-text rules for a text with these plausible labels."""
        p = ctx.params
        target, in_top = self._target(pred, ctx)
        if target >= p["min_prob"] and in_top:
            # passes top-k/min_prob; two rules for texts that pass only on a sliver of target probability
            if (scores := self._english(text, pred, ctx)) is not None:
                return Failure("english_turn", target, pred, scores)
            if self._foreign(pred, target, p["foreign_min_prob"], p["foreign_max_target"], ctx):
                rescued, scores = self._native(text, ctx)
                if not rescued:
                    return Failure("foreign_top1", target, pred, scores)
            return None
        targets = (ctx.lang.lid_label, *p["also_accept"])
        other = max((prob for lab, prob in pred if lab not in targets), default=None)
        if other is None:  # no plausible label but the target's, which is weak: no evidence either way
            return None
        if other >= p["min_other_prob"]:
            rescued, scores = self._native(text, ctx)
            if not rescued:
                return Failure("not_target", target, pred, scores)
        if (scores := self._english(text, pred, ctx)) is not None:
            return Failure("english_turn", target, pred, scores)
        return None

    def judge_segment(self, kind: str, text: str, pre: dict, ctx: GateContext) -> Failure | None:
        """A segment fails on positive evidence only: English (the English rule), or, in brackets or around
        a dash, another language on top with ``segment_min_prob`` while the target has at most
        ``segment_max_target``. Sentences are judged for English only."""
        p = ctx.params
        letters = letter_counts([text], ctx.memo)[0]
        if letters < (p["sentence_min_chars"] if kind == "sentence" else p["segment_min_chars"]):
            return None
        if text in pre["sure"]:
            return None
        pred = self._plausible(text, pre["preds"][text], ctx)
        if pred is None:
            return None
        target, _ = self._target(pred, ctx)
        if (scores := self._english(text, pred, ctx)) is not None:
            return Failure("english_segment", target, pred, scores, (kind, text))
        if kind != "sentence" and self._foreign(
            pred, target, p["segment_min_prob"], p["segment_max_target"], ctx
        ):
            rescued, scores = self._native(text, ctx)
            if not rescued:
                return Failure("foreign_segment", target, pred, scores, (kind, text))
        return None

    def judge(self, text: str, n_letters: int, pre: dict, ctx: GateContext) -> LidVerdict:
        """The LID rules for one text and its segments (``pre``: from ``predict_texts``)."""
        short = n_letters < ctx.params["min_chars"]  # not judged, only counted (turns still get a score)
        sure = pre["sure"].get(text)
        if sure is not None:
            score, failure = round(sure, 4), None
        else:
            raw = pre["preds"].get(text)
            if raw is None:  # a short persona sentence or common ground that was not predicted
                return LidVerdict(0, short, False, None)
            pred = self._plausible(text, raw, ctx)
            if pred is None:
                return LidVerdict(round(self._target(raw, ctx)[0], 4), short, bool(raw) and not short, None)
            target, _ = self._target(pred, ctx)
            score = round(target, 4)
            if short:  # too short for the model's probabilities, not for English function words
                scores = self._english(text, pred, ctx)
                failure = None if scores is None else Failure("english_turn", target, pred, scores)
                return LidVerdict(score, short, False, failure)
            failure = self.judge_whole(text, pred, ctx)
        if failure is None and not short:
            for seg in self.segments(text, ctx):
                failure = self.judge_segment(seg.kind, seg.text, pre, ctx)
                if failure is not None:
                    break
        return LidVerdict(score, short, False, failure)

    def failure_drop(self, where: str, text: str, failure: Failure, ctx: GateContext) -> Drop:
        p, lang = ctx.params, ctx.lang
        kind, target, pred, extra, segment = failure
        k = int(p["top_k"])
        top = ", ".join(f"{lab} {prob:.2f}" for lab, prob in pred[:k])
        if kind in ("english_turn", "english_segment"):
            why = f"{extra['english_share']:.0%} English function words, top label {pred[0][0]} {pred[0][1]:.2f}"
        elif kind in ("foreign_top1", "foreign_segment"):
            floor = p["foreign_min_prob"] if kind == "foreign_top1" else p["segment_min_prob"]
            why = f"top label {pred[0][0]} {pred[0][1]:.2f} >= {floor}, {lang.lid_label} only {target:.2f}"
        else:
            why = f"{lang.lid_label} not in top-{k} above {p['min_prob']}"
        scores = {
            "field": where,
            "kind": kind,
            "target_prob": round(target, 4),
            "top": [[lab, round(prob, 4)] for lab, prob in pred[:k]],
            **extra,
        }
        if segment is not None:
            scores["segment"] = segment[1]
            where_text = f"{segment[0]} {clip(segment[1], 60)!r}"
            return Drop(
                self.name,
                f"{where}: {where_text} is not {lang.lid_label}: {why} (got {top}) (in {clip(text, 40)!r})",
                scores,
            )
        label = "English turn: " if kind == "english_turn" else ""
        return Drop(self.name, f"{where}: {label}{why} (got {top}) ({clip(text, 40)!r})", scores)

    def check_text(self, item: TextItem, ctx: GateContext) -> Drop | None:
        where, text, *_ = item
        verdict = self.judge(text, letter_counts([text], ctx.memo)[0], self._predictions([text], ctx), ctx)
        ctx.counters["skipped_short"] += verdict.short
        ctx.counters["undetermined"] += verdict.undetermined
        return None if verdict.failure is None else self.failure_drop(where, text, verdict.failure, ctx)

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
            ctx.counters["skipped_short"] += sum(n < p["min_chars"] for n in letters)
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
        ctx.counters["skipped_short"] += skipped
        ctx.counters["undetermined"] += undetermined
        row["metadata"]["lid_scores"] = turn_scores
        if len(failed) > p["max_failed"]:
            drop = self.failure_drop(*failed[0], ctx)
            drop.scores.update(failed=len(failed), skipped_short=skipped)
            return drop
        judged = len(items) - skipped
        if undetermined and judged >= 3 and undetermined > p["max_undetermined_share"] * judged:
            return Drop(
                self.name,
                f"{undetermined} of {judged} texts undetermined (the model has no known "
                f"n-gram of them), more than {p['max_undetermined_share']:.0%}",
                {"kind": "undetermined", "undetermined": undetermined, "judged": judged},
            )
        return None
