"""Batched fastText supervised prediction in numpy (lid.176.ftz/.bin, GlotLID), same numbers as fastText.

fastText predicts one line at a time: split on ASCII whitespace, append ``</s>``, look every token up in the
dictionary, add its character n-gram rows (FNV-1a hashes of 2..4-character slices of ``<token>`` into
``bucket`` rows, remapped through ``pruneidx`` for quantized models), average the rows, and score the labels
(hierarchical softmax or softmax). Here the same steps run on a whole batch of texts:

* each distinct token's row sum and row count are computed once and remembered (``cache_size`` tokens);
* the n-grams of all unseen tokens of a batch are hashed together with vectorised FNV-1a;
* averages and label scores are matrix operations over the batch.

Supported: supervised models, ``wordNgrams`` 1, loss ``hs`` or ``softmax``, dense or product-quantized
matrices (format version 12). ``supported(path)`` says whether a file qualifies; ``LidModel`` falls back to
the fastText binding otherwise. Probabilities match fastText's within float32 rounding (tests compare them
on real text in every default language).
"""

from __future__ import annotations

import itertools
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MAGIC, VERSION = 793712314, 12
LOSS_HS, LOSS_SOFTMAX = 1, 3
MODEL_SUPERVISED = 3
EOS, LABEL_PREFIX = "</s>", "__label__"
_FNV_BASIS, _FNV_PRIME = np.uint32(2166136261), np.uint32(16777619)
_LOG_EPS = 1e-5  # fastText's std_log(x) = log(x + 1e-5)


def _unsupported(model: int, loss: int, word_ngrams: int) -> str | None:
    """Why a model with these arguments is not covered here, or None when it is."""
    if model != MODEL_SUPERVISED or loss not in (LOSS_HS, LOSS_SOFTMAX) or word_ngrams > 1:
        return f"model={model} loss={loss} wordNgrams={word_ngrams} (supported: supervised, hs or softmax, wordNgrams 1)"
    return None


class UnsupportedModel(ValueError):
    """The file is a fastText model this implementation does not cover (use the fastText binding)."""


@dataclass
class Args:
    dim: int
    word_ngrams: int
    loss: int
    model: int
    bucket: int
    minn: int
    maxn: int


class _Reader:
    def __init__(self, data: bytes):
        self.data, self.pos = data, 0

    def unpack(self, fmt: str):
        values = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values if len(values) > 1 else values[0]

    def array(self, dtype, count: int) -> np.ndarray:
        out = np.frombuffer(self.data, dtype=dtype, count=count, offset=self.pos)
        self.pos += out.nbytes
        return out

    def cstring(self) -> bytes:
        end = self.data.index(b"\0", self.pos)
        out = self.data[self.pos : end]
        self.pos = end + 1
        return out


def _product_quantizer(r: _Reader) -> tuple[int, int, int, int, np.ndarray]:
    dim, nsubq, dsub, lastdsub = r.unpack("iiii")
    return dim, nsubq, dsub, lastdsub, r.array(np.float32, dim * 256)


def _decode_pq(codes: np.ndarray, pq) -> np.ndarray:
    """Rows of a product-quantized matrix, dequantized (ProductQuantizer::addcode for every row)."""
    dim, nsubq, dsub, lastdsub, centroids = pq
    out = np.empty((codes.shape[0], dim), dtype=np.float32)
    for m in range(nsubq):
        d = lastdsub if m == nsubq - 1 else dsub
        table = centroids[m * 256 * dsub : m * 256 * dsub + 256 * d].reshape(256, d)
        out[:, m * dsub : m * dsub + d] = table[codes[:, m]]
    return out


def _matrix(r: _Reader, quantized: bool) -> np.ndarray:
    if not quantized:
        m, n = r.unpack("qq")
        return r.array(np.float32, m * n).reshape(m, n)
    qnorm = bool(r.unpack("?"))
    m, n = r.unpack("qq")
    codesize = r.unpack("i")
    codes = r.array(np.uint8, codesize)
    pq = _product_quantizer(r)
    rows = _decode_pq(codes.reshape(m, pq[1]), pq)
    if qnorm:
        norm_codes = r.array(np.uint8, m)
        npq = _product_quantizer(r)
        rows *= npq[4][norm_codes][:, None]  # the norm quantizer has dim 1: centroid i is a scalar
    return rows


def _hs_tree(
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


def _std_log(x: np.ndarray) -> np.ndarray:
    """fastText's std_log, log(x + 1e-5), in float32 (fastText rounds it to float)."""
    return np.log(x.astype(np.float32, copy=False) + np.float32(_LOG_EPS))


def _sigmoid32(logits: np.ndarray) -> np.ndarray:
    """fastText's ``1 / (1 + exp(-f))``, rounded to float (exp overflow -> inf -> 0, as in fastText)."""
    with np.errstate(over="ignore"):
        return (1.0 / (1.0 + np.exp(-logits))).astype(np.float32)


def _fnv_signed_bytes(a: np.ndarray) -> np.ndarray:
    """Bytes as fastText's hash sees them: ``uint32(int8(byte))`` (sign-extended)."""
    return a.astype(np.int8).astype(np.int32).view(np.uint32)


class FastTextNumpy:
    """A fastText supervised model evaluated with numpy. ``predict(texts, k)`` -> per text, the top-k
    ``(label, probability)`` pairs best first, what ``fasttext`` returns for the same line. Labels are
    reported as ``names`` (default: the model's own, with their ``__label__`` prefix)."""

    chunk = 512  # texts per vectorised step

    def __init__(self, path: str | Path, cache_size: int = 200_000):
        data = Path(path).read_bytes()
        r = _Reader(data)
        if len(data) < 8 or r.unpack("ii") != (MAGIC, VERSION):
            raise UnsupportedModel(f"{path}: not a fastText model of format version {VERSION}")
        dim, _ws, _epoch, _min_count, _neg, word_ngrams, loss, model, bucket, minn, maxn, _lr_update = (
            r.unpack("12i")
        )
        r.unpack("d")
        self.args = Args(dim, word_ngrams, loss, model, bucket, minn, maxn)
        why = _unsupported(model, loss, word_ngrams)
        if why:
            raise UnsupportedModel(f"{path}: {why}")
        size, self.nwords, nlabels = r.unpack("iii")
        _ntokens, pruneidx_size = r.unpack("qq")
        words, label_counts = {}, []
        self.labels: list[str] = []
        for i in range(size):
            word = r.cstring()
            count, kind = r.unpack("qb")
            if kind == 0:
                words[word] = i
            else:
                self.labels.append(word.decode("utf-8", "replace"))
                label_counts.append(count)
        self.words = words
        self.names = np.array(self.labels, dtype=object)  # what predict reports for each label (settable)
        self.pruned = pruneidx_size >= 0
        self.bucket_rows: np.ndarray | None = None  # bucket -> row (pruned models), -1 when dropped
        if pruneidx_size > 0:
            pairs = r.array(np.int32, 2 * pruneidx_size).reshape(-1, 2)
            self.bucket_rows = np.full(bucket, -1, dtype=np.int32)
            self.bucket_rows[pairs[:, 0]] = self.nwords + pairs[:, 1]
        quant_input = bool(r.unpack("?"))
        self.input = np.ascontiguousarray(_matrix(r, quant_input), dtype=np.float32)
        qout = bool(r.unpack("?"))
        self.output = _matrix(r, quant_input and qout)
        if self.input.shape[1] != dim or self.output.shape[0] != nlabels:
            raise UnsupportedModel(
                f"{path}: matrix shapes {self.input.shape}/{self.output.shape} do not match "
                f"dim={dim}, {nlabels} labels"
            )
        self._nlabels = nlabels
        if loss == LOSS_HS:  # inner node i scores sigmoid(output[i - osz] . hidden); the last row is unused
            self._levels, self._paths = _hs_tree(label_counts)
            self._out = np.ascontiguousarray(self.output[:-1], dtype=np.float32)
        else:
            self._out = np.ascontiguousarray(self.output, dtype=np.float32)
        self.cache_size = cache_size
        self._token_index: dict[str, int] = {}
        self._sums = np.zeros((1024, dim), dtype=np.float32)  # per remembered token: sum of its rows
        self._counts = np.zeros(1024, dtype=np.float32)  # ... and how many rows
        self._add_tokens([EOS])

    # -- tokens -> rows -----------------------------------------------------------------------------------
    def _ngram_rows(self, tokens: list[bytes]) -> tuple[np.ndarray, np.ndarray]:
        """(token index, input row) for every character n-gram of ``<token>`` that has a row
        (Dictionary::computeSubwords + pushHash, vectorised over all tokens)."""
        a = self.args
        empty = np.zeros(0, np.int64)
        if a.maxn <= 0 or not tokens or (self.pruned and self.bucket_rows is None):
            return empty, empty  # no subwords, or every n-gram was pruned
        wrapped = [b"<" + t + b">" for t in tokens]
        lengths = np.fromiter((len(w) for w in wrapped), dtype=np.int64, count=len(wrapped))
        buf = np.frombuffer(b"".join(wrapped), dtype=np.uint8)
        owner = np.repeat(np.arange(len(tokens)), lengths)
        char_pos = np.flatnonzero((buf & 0xC0) != 0x80)  # byte offset of every character start
        # a character ends where the next one starts: each token's last one ('>') ends at the next '<'
        char_len = np.diff(np.append(char_pos, buf.size))
        char_tok = owner[char_pos]
        n_chars = np.bincount(char_tok, minlength=len(tokens))
        char_idx = np.arange(char_pos.size) - (np.cumsum(n_chars) - n_chars)[char_tok]
        remaining = n_chars[char_tok] - char_idx  # characters from this one to the token's end
        signed = _fnv_signed_bytes(buf)
        h = np.full(char_pos.size, _FNV_BASIS, dtype=np.uint32)
        out_tok, out_row = [], []
        for n in range(1, a.maxn + 1):
            idx = np.flatnonzero(remaining >= n)  # n-grams of n characters starting at character idx
            if idx.size == 0:
                break
            last = idx + n - 1  # their n-th character: hash its bytes on top of the (n-1)-gram's hash
            pos, length, hh = char_pos[last], char_len[last], h[idx]
            for b in range(int(length.max())):
                active = length > b
                step = (hh ^ signed[np.where(active, pos + b, 0)]) * _FNV_PRIME
                hh = np.where(active, step, hh)
            h[idx] = hh
            if n < a.minn:
                continue
            if n == 1:  # fastText skips the lone '<' and '>'
                keep = (char_idx[idx] != 0) & (remaining[idx] != 1)
                idx, hh = idx[keep], hh[keep]
            bucket = (hh % np.uint32(a.bucket)).astype(np.int64)
            if self.bucket_rows is not None:
                rows = self.bucket_rows[bucket].astype(np.int64)
                ok = rows >= 0
                idx, rows = idx[ok], rows[ok]
            else:
                rows = self.nwords + bucket
            out_tok.append(char_tok[idx])
            out_row.append(rows)
        if not out_tok:
            return empty, empty
        return np.concatenate(out_tok), np.concatenate(out_row)

    def _add_tokens(self, tokens: list[str]) -> None:
        """Compute and remember the row sum and row count of each token (Dictionary::addSubwords)."""
        base = len(self._token_index)
        need = base + len(tokens)
        if need > self._sums.shape[0]:
            size = max(need, 2 * self._sums.shape[0])
            self._sums = np.resize(self._sums, (size, self.args.dim))
            self._counts = np.resize(self._counts, size)
        raws = [t.encode("utf-8", "surrogatepass") for t in tokens]
        get = self.words.get
        wids = np.fromiter((get(r, -1) for r in raws), dtype=np.int64, count=len(raws))
        label = LABEL_PREFIX.encode()
        # subwords for every token but </s> and unknown label tokens (which fastText ignores)
        sub = (
            [i for i, r in enumerate(raws) if r != b"</s>" and (wids[i] >= 0 or not r.startswith(label))]
            if any(r.startswith(label) for r in raws)
            else [i for i, r in enumerate(raws) if r != b"</s>"]
        )
        tok_idx, ngram_rows = self._ngram_rows([raws[i] for i in sub])
        in_vocab = np.flatnonzero(wids >= 0)
        owner = np.concatenate([in_vocab, np.asarray(sub, dtype=np.int64)[tok_idx]])
        rows = np.concatenate([wids[in_vocab], ngram_rows])  # each token: its word row first, as fastText
        order = np.argsort(owner, kind="stable")
        owner, rows = owner[order], rows[order]
        sums = np.zeros((len(tokens), self.args.dim), dtype=np.float32)
        if rows.size:
            starts = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])
            sums[owner[starts]] = np.add.reduceat(self.input[rows], starts, axis=0)
        counts = np.bincount(owner, minlength=len(tokens)).astype(np.float32)
        self._sums[base:need] = sums
        self._counts[base:need] = counts
        self._token_index.update(zip(tokens, range(base, need), strict=True))

    # -- prediction ---------------------------------------------------------------------------------------
    @staticmethod
    def _split(texts: list[str]) -> list[list[str]]:
        """fastText's tokens of each line (whitespace and NUL separate; reading stops at </s>)."""
        joined = "".join(texts)
        if "\0" not in joined and EOS not in joined:
            return [t.split() for t in texts]
        out = []
        for text in texts:
            toks = text.replace("\0", " ").split()
            if EOS in toks:
                toks = toks[: toks.index(EOS)]
            out.append(toks)
        return out

    def hidden(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Each text's averaged input vector (Model::computeHidden, float32) and its number of input rows
        (0 rows: fastText predicts nothing)."""
        per_text = self._split(texts)
        flat = list(itertools.chain.from_iterable(per_text))
        index = self._token_index
        missing = [t for t in dict.fromkeys(flat) if t not in index]
        if missing:
            if len(index) + len(missing) > self.cache_size:  # forget all but </s> (row 0 of the tables)
                self._token_index = index = {EOS: 0}
                missing = list(dict.fromkeys(flat))
            self._add_tokens(missing)
        lengths = np.fromiter(map(len, per_text), dtype=np.int64, count=len(per_text))
        # each text's token rows followed by </s> (table row 0)
        idx = np.zeros(lengths.sum() + len(per_text), dtype=np.int64)
        idx[np.arange(len(flat)) + np.repeat(np.arange(len(per_text)), lengths)] = np.fromiter(
            map(index.__getitem__, flat), dtype=np.int64, count=len(flat)
        )
        starts = np.cumsum(lengths + 1) - (lengths + 1)
        sums = np.add.reduceat(self._sums[idx], starts, axis=0)
        counts = np.add.reduceat(self._counts[idx], starts)
        return sums / np.maximum(counts, 1.0)[:, None], counts

    def log_probs(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """fastText's score of every label (rows) for every text (columns), float32: log(p + 1e-5) summed
        from the root down the label's tree path (hs, as HierarchicalSoftmaxLoss::dfs adds them), or
        log(p + 1e-5) (softmax). Only elementwise numpy operations: a text's scores do not depend on which
        other texts share its batch. Also returns each text's number of input rows."""
        hidden, counts = self.hidden(texts)
        logits = np.einsum("nd,bd->nb", self._out, hidden)  # (labels or inner nodes) x texts
        if self.args.loss != LOSS_HS:
            z = np.exp(logits - logits.max(axis=0, keepdims=True))
            return _std_log(z / z.sum(axis=0, keepdims=True)), counts
        f = _sigmoid32(logits)
        go_left, go_right = _std_log(1.0 - f), _std_log(f)
        osz = self._nlabels
        scores = np.zeros((2 * osz - 1, logits.shape[1]), dtype=np.float32)
        for nodes, lefts, rights in self._levels:
            parent, row = scores[nodes], nodes - osz
            scores[lefts] = parent + go_left[row]
            scores[rights] = parent + go_right[row]
        return scores[:osz], counts

    def label_probs(self, texts: list[str], label: int) -> np.ndarray | None:
        """The probability fastText reports for one label (index into ``labels``) for each text, computed
        along that label's tree path only (the same float32 operations, so the same value as in
        ``predict``). None for softmax models, whose probabilities need every label."""
        if self.args.loss != LOSS_HS:
            return None
        path = self._paths[label]
        if not path:
            return np.ones(len(texts))
        rows = np.array([r for r, _ in path])
        hidden, counts = self.hidden(texts)
        logits = np.einsum("nd,bd->nb", self._out[rows], hidden)
        f = _sigmoid32(logits)
        score = np.zeros(len(texts), dtype=np.float32)
        for j, (_, right) in enumerate(path):  # root first, as dfs adds them
            score = score + _std_log(f[j] if right else 1.0 - f[j])
        probs = np.exp(score).astype(np.float64)  # float32 exp, as fastText
        probs[counts == 0] = 0.0
        return probs

    @property
    def max_depth(self) -> int:
        return max((len(p) for p in self._paths), default=0) if self.args.loss == LOSS_HS else 0

    def predict(self, texts: list[str], k: int = 1) -> list[list[tuple[str, float]]]:
        if len(texts) > self.chunk:  # keep the intermediates cache-sized
            return [
                p
                for i in range(0, len(texts), self.chunk)
                for p in self.predict(texts[i : i + self.chunk], k)
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
        kept = (top_scores >= np.float32(np.log(_LOG_EPS))).sum(axis=0)
        kept[counts == 0] = 0  # no rows at all: fastText predicts nothing
        out = []
        for names, row_probs, n in zip(self.names[top].T.tolist(), probs, kept.tolist(), strict=True):
            pairs = list(zip(names, row_probs, strict=True))
            out.append(pairs if n == k else pairs[:n])
        return out


def supported(path: str | Path) -> bool:
    """Whether ``FastTextNumpy`` can evaluate this file (else use the fastText binding)."""
    try:
        with open(path, "rb") as f:
            head = f.read(8 + 12 * 4)
    except OSError:
        return False
    if len(head) < 56 or struct.unpack_from("<ii", head) != (MAGIC, VERSION):
        return False
    _dim, _ws, _ep, _mc, _neg, word_ngrams, loss, model = struct.unpack_from("<8i", head, 8)
    return _unsupported(model, loss, word_ngrams) is None
