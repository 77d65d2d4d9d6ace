"""A fastText model's output side: the score of every label, log(p + 1e-5) in float32 as fastText computes it,
from averaged input vectors (rows of ``hidden``, see ``fasttext_tokens``).

Hierarchical softmax: the Huffman tree is rebuilt from the label counts as fastText builds it, and a label's
score is the sum of ``log(sigmoid) + 1e-5`` terms along its tree path, added root first
(HierarchicalSoftmaxLoss::dfs). Softmax: log(softmax + 1e-5). Only elementwise numpy operations, sums in the
same order for one text as for a batch: a text's scores do not depend on which other texts share its batch.
"""

from __future__ import annotations

import numpy as np

_LOG_EPS = 1e-5  # fastText's std_log(x) = log(x + 1e-5)
_EPS32 = np.float32(_LOG_EPS)
MIN_SCORE = np.float32(np.log(_LOG_EPS))  # fastText prunes scores below std_log(threshold 0)


def std_log(x: np.ndarray) -> np.ndarray:
    """fastText's std_log, log(x + 1e-5), in float32 (fastText rounds it to float)."""
    return np.log(x.astype(np.float32, copy=False) + _EPS32)


def sigmoid32(logits: np.ndarray) -> np.ndarray:
    """fastText's ``1 / (1 + exp(-f))``, rounded to float (exp overflow -> inf -> 0, as in fastText)."""
    out = np.negative(logits, dtype=np.float32)
    with np.errstate(over="ignore"):
        np.exp(out, out=out)
    np.add(out, 1.0, out=out)
    return np.divide(1.0, out, out=out)


def hs_tree(
    counts: list[int],
) -> tuple[list[tuple[np.ndarray, np.ndarray, np.ndarray]], list[list[tuple[int, bool]]]]:
    """HierarchicalSoftmaxLoss::buildTree, as (inner nodes, their left children, right children) per depth
    from the root down, and each label's path from the root: [(inner node's output row, goes right)].
    Nodes 0..osz-1 are the labels, inner node i uses output row i - osz."""
    osz = len(counts)
    count = [*counts, *([10**15] * (osz - 1))]
    left, right = [-1] * (2 * osz - 1), [-1] * (2 * osz - 1)
    leaf, node = osz - 1, osz
    for i in range(osz, 2 * osz - 1):
        mini = [0, 0]
        for j in range(2):
            if leaf >= 0 and count[leaf] < count[node]:
                mini[j], leaf = leaf, leaf - 1
            else:
                mini[j], node = node, node + 1
        count[i] = count[mini[0]] + count[mini[1]]
        left[i], right[i] = mini
    levels, frontier = [], [2 * osz - 2] if osz > 1 else []
    paths: list[list[tuple[int, bool]]] = [[] for _ in range(2 * osz - 1)]
    while frontier:
        levels.append(
            (
                np.array(frontier),
                np.array([left[n] for n in frontier]),
                np.array([right[n] for n in frontier]),
            )
        )
        for n in frontier:
            paths[left[n]] = [*paths[n], (n - osz, False)]
            paths[right[n]] = [*paths[n], (n - osz, True)]
        frontier = [c for n in frontier for c in (left[n], right[n]) if c >= osz]
    return levels, paths[:osz]


def _logits(out: np.ndarray, hidden: np.ndarray) -> np.ndarray:
    """(output rows) x texts dot products; einsum, never BLAS, so a column does not depend on the others."""
    return np.einsum("nd,bd->nb", out, hidden)


class Softmax:
    """Softmax loss: every label's score from all labels' logits."""

    max_depth = 0

    def __init__(self, output: np.ndarray):
        self.out = np.ascontiguousarray(output, dtype=np.float32)

    def log_probs(self, hidden: np.ndarray) -> np.ndarray:
        """labels x texts scores."""
        logits = _logits(self.out, hidden)
        z = np.exp(logits - logits.max(axis=0, keepdims=True))
        # each column summed label after label, as fastText (a column sum of one text would be pairwise)
        return std_log(z / np.add.accumulate(z, axis=0)[-1:])

    def log_probs_one(self, hidden: np.ndarray) -> np.ndarray:
        """The scores of the one text of ``hidden`` (1 x dim): ``log_probs`` of that batch of one."""
        return self.log_probs(hidden)[:, 0]


class HierarchicalSoftmax:
    """Hierarchical softmax loss: inner node i scores ``sigmoid(output[i - osz] . hidden)`` (going right);
    the output matrix's last row is unused."""

    def __init__(self, output: np.ndarray, label_counts: list[int]):
        self.levels, self.paths = hs_tree(label_counts)
        self.osz = osz = len(label_counts)
        self.out = np.ascontiguousarray(output[:-1], dtype=np.float32)
        self.max_depth = max((len(p) for p in self.paths), default=0)
        # per label: the output rows of its path's inner nodes, root first, and which way it goes at each
        self.path_out = [np.ascontiguousarray(self.out[[r for r, _ in p]]) for p in self.paths]
        self.path_left = [np.array([[not right] for _, right in p], dtype=bool) for p in self.paths]
        # per depth and label: where its term is in [log(1 - f) per inner node, log(f) per inner node, 0.0]
        # (0.0 past the end of a shorter path, added after the path's own terms)
        gather = np.full((self.max_depth, osz), 2 * (osz - 1), dtype=np.int64)
        for label, path in enumerate(self.paths):
            for depth, (row, right) in enumerate(path):
                gather[depth, label] = row + (osz - 1 if right else 0)
        self.gather = gather

    def log_probs(self, hidden: np.ndarray) -> np.ndarray:
        """labels x texts scores, summed level by level from the root down."""
        f = sigmoid32(_logits(self.out, hidden))
        go_left, go_right = std_log(1.0 - f), std_log(f)
        osz = self.osz
        scores = np.zeros((2 * osz - 1, hidden.shape[0]), dtype=np.float32)
        for nodes, lefts, rights in self.levels:
            parent, row = scores[nodes], nodes - osz
            scores[lefts] = parent + go_left[row]
            scores[rights] = parent + go_right[row]
        return scores[:osz]

    def log_probs_one(self, hidden: np.ndarray) -> np.ndarray:
        """The scores of the one text of ``hidden`` (1 x dim), the same float32 values as ``log_probs``: the
        same terms, gathered per label and added root first in one sequential accumulation."""
        if not self.max_depth:  # a single label: no inner node
            return np.zeros(self.osz, dtype=np.float32)
        f = sigmoid32(_logits(self.out, hidden))[:, 0]
        inner = f.shape[0]
        terms = np.empty(2 * inner + 1, dtype=np.float32)  # 1 - f, f, then 0.0 (see ``gather``)
        np.subtract(1.0, f, out=terms[:inner])
        terms[inner:-1] = f
        logs = terms[:-1]
        np.log(np.add(logs, _EPS32, out=logs), out=logs)  # std_log, in place
        terms[-1] = 0.0
        per_depth = terms.take(self.gather)
        scores = per_depth[0].copy()
        for row in per_depth[1:]:  # root first: one float32 addition per level, as ``log_probs``
            scores += row
        return scores

    def label_log_probs(self, hidden: np.ndarray, label: int) -> np.ndarray:
        """One label's score for each text (rows of ``hidden``), computed along its path only."""
        path = self.paths[label]
        f = sigmoid32(_logits(self.path_out[label], hidden))
        score = np.zeros(hidden.shape[0], dtype=np.float32)
        for j, (_, right) in enumerate(path):  # root first, as dfs adds them
            score = score + std_log(f[j] if right else 1.0 - f[j])
        return score

    def label_log_prob_one(self, hidden: np.ndarray, label: int) -> np.ndarray:
        """``label_log_probs`` for the one text of ``hidden`` (1 x dim), all levels at once (shape (1,))."""
        if not self.paths[label]:
            return np.zeros(1, dtype=np.float32)
        f = sigmoid32(_logits(self.path_out[label], hidden))  # a new array: turned into the terms in place
        np.subtract(1.0, f, out=f, where=self.path_left[label])  # going left: 1 - f
        np.add(f, _EPS32, out=f)  # std_log, in place
        return np.add.accumulate(np.log(f, out=f), axis=0)[-1]
