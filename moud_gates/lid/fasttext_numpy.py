"""fastText supervised prediction in numpy (lid.176.ftz/.bin, GlotLID), same numbers as fastText.

fastText predicts one line at a time: split on ASCII whitespace, append ``</s>``, look every token up in the
dictionary, add its character n-gram rows, average the rows (``fasttext_tokens``), and score the labels
(hierarchical softmax or softmax, ``fasttext_scoring``). ``predict`` runs these steps on a whole batch of
texts as matrix operations, and on a single text without the batch bookkeeping (``predict_one``: the same
float32 operations in the same order, so the same probabilities).

Supported: the files ``fasttext_file.supported`` accepts; ``LidModel`` falls back to the fastText binding
otherwise. Probabilities match fastText's within float32 rounding (tests compare them on real text in every
default language).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from moud_gates.lid.fasttext_file import LOSS_HS, read_model
from moud_gates.lid.fasttext_scoring import MIN_SCORE, HierarchicalSoftmax, Softmax
from moud_gates.lid.fasttext_tokens import TokenRows


class FastTextNumpy:
    """A fastText supervised model evaluated with numpy. ``predict(texts, k)`` -> per text, the top-k
    ``(label, probability)`` pairs best first, what ``fasttext`` returns for the same line. Labels are
    reported as ``names`` (default: the model's own, with their ``__label__`` prefix)."""

    chunk = 512  # texts per vectorised step
    # up to this many texts, one text at a time is faster than a batch (measured on lid.176.ftz)
    one_by_one_label, one_by_one_predict = 2, 4

    def __init__(self, path: str | Path, cache_size: int = 200_000):
        model = read_model(path)
        self.args = model.args
        self.labels: list[str] = model.labels
        self.names = np.array(self.labels, dtype=object)  # what predict reports for each label (settable)
        self.tokens = TokenRows(model, cache_size)
        self.hs = model.args.loss == LOSS_HS
        self.scorer = (
            HierarchicalSoftmax(model.output, model.label_counts) if self.hs else Softmax(model.output)
        )
        self.max_depth = self.scorer.max_depth  # the longest label path (0: softmax)

    def hidden(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Each text's averaged input vector (Model::computeHidden, float32) and its number of input rows
        (0 rows: fastText predicts nothing)."""
        return self.tokens.hidden(texts)

    def log_probs(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """fastText's score of every label (rows) for every text (columns), float32, and each text's number
        of input rows."""
        hidden, counts = self.hidden(texts)
        return self.scorer.log_probs(hidden), counts

    # -- one label ----------------------------------------------------------------------------------------
    def label_probs(self, texts: list[str], label: int) -> list[float] | None:
        """The probability fastText reports for one label (index into ``labels``) for each text, computed
        along that label's tree path only (the same float32 operations, so the same value as in
        ``predict``). None for softmax models, whose probabilities need every label."""
        if len(texts) <= self.one_by_one_label:
            return None if not self.hs else [self.label_prob_one(text, label) for text in texts]
        probs = self.label_probs_batch(texts, label)
        return None if probs is None else probs.tolist()

    def label_probs_batch(self, texts: list[str], label: int) -> np.ndarray | None:
        """``label_probs``, vectorised over the texts."""
        if not self.hs:
            return None
        if not self.scorer.paths[label]:
            return np.ones(len(texts))
        hidden, counts = self.hidden(texts)
        probs = np.exp(self.scorer.label_log_probs(hidden, label)).astype(np.float64)  # float32 exp
        probs[counts == 0] = 0.0
        return probs

    def label_prob_one(self, text: str, label: int) -> float | None:
        """``label_probs_batch([text], label)[0]``, for one text without the batch bookkeeping."""
        if not self.hs:
            return None
        if not self.scorer.paths[label]:
            return 1.0
        hidden, count = self.tokens.hidden_one(text)
        return float(np.exp(self.scorer.label_log_prob_one(hidden, label))[0]) if count else 0.0

    # -- top-k --------------------------------------------------------------------------------------------
    def predict(self, texts: list[str], k: int = 1) -> list[list[tuple[str, float]]]:
        """Per text, the top-k (label, probability) best first (``predict_one`` for a few texts)."""
        if len(texts) <= self.one_by_one_predict:
            return [self.predict_one(text, k) for text in texts]
        return self.predict_batch(texts, k)

    def predict_batch(self, texts: list[str], k: int = 1) -> list[list[tuple[str, float]]]:
        """``predict``, vectorised over the texts."""
        if len(texts) > self.chunk:  # keep the intermediates cache-sized
            return [
                p
                for i in range(0, len(texts), self.chunk)
                for p in self.predict_batch(texts[i : i + self.chunk], k)
            ]
        if not texts:
            return []
        scores, counts = self.log_probs(texts)
        k = min(k, scores.shape[0])
        cols = np.arange(len(texts))
        top = np.empty((k, len(texts)), dtype=np.int64)
        top_scores = np.empty((k, len(texts)), dtype=np.float32)
        for j in range(k):  # k is small: k argmax passes beat a partition of every column
            best = scores.argmax(axis=0)
            top[j], top_scores[j] = best, scores[best, cols]
            scores[best, cols] = -np.inf
        probs = np.exp(top_scores).T.tolist()  # float32, as fastText reports exp(score)
        # fastText prunes scores below std_log(threshold 0) = log(1e-5); scores are sorted, so a prefix stays
        kept = (top_scores >= MIN_SCORE).sum(axis=0)
        kept[counts == 0] = 0  # no rows at all: fastText predicts nothing
        out = []
        for names, row_probs, n in zip(self.names[top].T.tolist(), probs, kept.tolist(), strict=True):
            pairs = list(zip(names, row_probs, strict=True))
            out.append(pairs if n == k else pairs[:n])
        return out

    def predict_one(self, text: str, k: int = 1) -> list[tuple[str, float]]:
        """``predict_batch([text], k)[0]``: the same scores (``log_probs_one``), the same order (best first,
        ties to the lower label index, as repeated argmax), the same float32 exp and pruning."""
        hidden, count = self.tokens.hidden_one(text)
        if not count:
            return []
        scores = self.scorer.log_probs_one(hidden)
        top = np.argsort(-scores, kind="stable")[: min(k, scores.shape[0])]
        top_scores = scores[top]
        pairs = list(zip(self.names[top].tolist(), np.exp(top_scores).tolist(), strict=True))
        kept = int((top_scores >= MIN_SCORE).sum())
        return pairs if kept == len(pairs) else pairs[:kept]
