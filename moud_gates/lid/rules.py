"""The language-ID rules for one text and its segments, given the model's predictions (``lid.py`` is the
gate that computes them and applies these rules to a row's texts).

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

from moud_core.charclass import letter_counts
from moud_gates.base import GateContext
from moud_gates.lid.words import (
    english_share,
    plausible,
    target_words,
    target_words_plain,
    without_accents,
    word_share,
)


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


def lid_depth(params: dict) -> int:
    """How many labels the gate asks the model for (top-k, and at least 5 for its other rules)."""
    return max(int(params["top_k"]), 5)


def plausible_labels(model, text: str, pred: list, ctx: GateContext) -> list | None:
    """``pred`` without the labels whose script has no letter in ``text``; None when the model (a LidModel)
    had nothing to go on (its prior, or no plausible label left)."""
    if not pred or pred == model.prior(len(pred)):
        return None
    seen = ctx.memo.setdefault("text_scripts", {}).setdefault(text, {}) if ctx.memo is not None else {}
    kept = [(lab, prob) for lab, prob in pred if plausible(lab, text, seen)]
    return kept or None


def target_prob(pred: list, ctx: GateContext) -> tuple[float, bool]:
    """(accepted labels' probability summed over the top-k, whether one is in the top-k)."""
    targets = (ctx.lang.lid_label, *ctx.params["also_accept"])
    target, in_top = 0, False  # int 0 like sum(): a text without target label scores 0
    for lab, prob in pred[: int(ctx.params["top_k"])]:
        if lab in targets:
            target, in_top = target + prob, True
    return target, in_top


def english_scores(text: str, pred: list, ctx: GateContext) -> dict | None:
    """Scores when the English rule fires: at least ``english_min_tokens`` tokens and English function words
    (data/english_words.yaml) making up ``english_words_share`` of them, or fewer with English as the model's
    top label (``english_min_share`` at ``english_min_prob``, ``english_confident_share`` at
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


def native_rescue(text: str, ctx: GateContext, pred: list | None = None) -> tuple[bool, dict]:
    """(whether ``text`` is rescued, scores): it has enough common target-language words (accent-insensitive),
    or (with the model's labels ``pred``) every one of its words is a word of the target language and more of
    them are than of the foreign label on top (``lexical_rescue``)."""
    words = target_words(ctx.lang.code)
    scores: dict = {}
    if words:
        share = word_share(ctx.tokens(text), words, target_words_plain(ctx.lang.code))
        scores["target_share"] = round(share, 4)
        if share >= ctx.params["target_min_share"]:
            return True, scores
    if pred and lexical_rescue(text, pred, ctx):
        scores["lexical_rescue"] = True
        return True, scores
    return False, scores


def lexical_rescue(text: str, pred: list, ctx: GateContext) -> bool:
    """Whether ``text`` (at least ``lexical_min_words`` words) has only words of the target language's
    wordfreq list (accent-insensitive) and strictly more of them than the top foreign label's list has: short
    informal text ("tu as un yacht sympa") that language ID gives to a neighbour, while a neighbour's sentence
    has words the target's list lacks."""
    from moud_gates.gates.lexicon import known_words, label_words

    lists = known_words(ctx.lang.code)
    targets = (ctx.lang.lid_label, *ctx.params["also_accept"])
    foreign = next((lab for lab, _ in pred if lab not in targets), None)
    other = label_words(foreign) if foreign is not None else None
    if lists is None or other is None:
        return False
    tokens = [t for t in ctx.tokens(text) if not any(c.isdigit() for c in t)]
    if len(tokens) < ctx.params["lexical_min_words"]:
        return False
    target = lists[0]
    mine = sum(t in target or without_accents(t) in target for t in tokens)
    return mine == len(tokens) and mine > sum(t in other for t in tokens)


def foreign_on_top(pred: list, target: float, min_prob: float, max_target: float, ctx: GateContext) -> bool:
    """Whether a label other than the accepted ones and English (which has its own rule, on English words:
    English names and loanwords make lid.176 say English) is on top with ``min_prob`` and the target has at
    most ``max_target``."""
    targets = (ctx.lang.lid_label, *ctx.params["also_accept"])
    top, prob = pred[0]
    return top not in targets and top != "en" and prob >= min_prob and target <= max_target


def judge_whole(text: str, pred: list, ctx: GateContext) -> Failure | None:
    """The whole-text rules for a text with these plausible labels."""
    p = ctx.params
    target, in_top = target_prob(pred, ctx)
    if target >= p["min_prob"] and in_top:
        # passes top-k/min_prob; two rules for texts that pass only on a sliver of target probability
        if (scores := english_scores(text, pred, ctx)) is not None:
            return Failure("english_turn", target, pred, scores)
        if foreign_on_top(pred, target, p["foreign_min_prob"], p["foreign_max_target"], ctx):
            rescued, scores = native_rescue(text, ctx, pred)
            if not rescued:
                return Failure("foreign_top1", target, pred, scores)
        return None
    targets = (ctx.lang.lid_label, *p["also_accept"])
    other = max((prob for lab, prob in pred if lab not in targets), default=None)
    if other is None:  # no plausible label but the target's, which is weak: no evidence either way
        return None
    if other >= p["min_other_prob"]:
        rescued, scores = native_rescue(text, ctx, pred)
        if not rescued:
            return Failure("not_target", target, pred, scores)
    if (scores := english_scores(text, pred, ctx)) is not None:
        return Failure("english_turn", target, pred, scores)
    return None


def judge_segment(model, kind: str, text: str, pre: dict, ctx: GateContext) -> Failure | None:
    """A segment fails on positive evidence only: English (the English rule), or, in brackets or around a
    dash, another language on top with ``segment_min_prob`` while the target has at most
    ``segment_max_target``. Sentences are judged for English only. ``pre``: the gate's predictions."""
    p = ctx.params
    letters = letter_counts([text], ctx.memo)[0]
    if letters < (p["sentence_min_chars"] if kind == "sentence" else p["segment_min_chars"]):
        return None
    if text in pre["sure"]:
        return None
    pred = plausible_labels(model, text, pre["preds"][text], ctx)
    if pred is None:
        return None
    target, _ = target_prob(pred, ctx)
    if (scores := english_scores(text, pred, ctx)) is not None:
        return Failure("english_segment", target, pred, scores, (kind, text))
    if kind != "sentence" and foreign_on_top(
        pred, target, p["segment_min_prob"], p["segment_max_target"], ctx
    ):
        rescued, scores = native_rescue(text, ctx)
        if not rescued:
            return Failure("foreign_segment", target, pred, scores, (kind, text))
    return None


def judge_text(model, text: str, n_letters: int, pre: dict, segments, ctx: GateContext) -> LidVerdict:
    """The LID rules for one text and, when it passes, its judged ``segments(text, ctx)``; ``pre``: the
    gate's predictions (``sure``: text -> target probability, ``preds``: text -> top-k)."""
    short = n_letters < ctx.params["min_chars"]  # not judged, only counted (turns still get a score)
    sure = pre["sure"].get(text)
    if sure is not None:
        score, failure = round(sure, 4), None
    else:
        raw = pre["preds"].get(text)
        if raw is None:  # a short persona sentence or common ground that was not predicted
            return LidVerdict(0, short, False, None)
        pred = plausible_labels(model, text, raw, ctx)
        if pred is None:
            return LidVerdict(round(target_prob(raw, ctx)[0], 4), short, bool(raw) and not short, None)
        target, _ = target_prob(pred, ctx)
        score = round(target, 4)
        if short:  # too short for the model's probabilities, not for English function words
            scores = english_scores(text, pred, ctx)
            failure = None if scores is None else Failure("english_turn", target, pred, scores)
            return LidVerdict(score, short, False, failure)
        failure = judge_whole(text, pred, ctx)
    if failure is None and not short:
        for seg in segments(text, ctx):
            failure = judge_segment(model, seg.kind, seg.text, pre, ctx)
            if failure is not None:
                break
    return LidVerdict(score, short, False, failure)
