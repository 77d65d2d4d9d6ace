"""Reading a fastText model file (format version 12) into numpy: arguments, dictionary, pruned-bucket map,
and dense or product-quantized (``.ftz``) matrices, dequantized. ``supported(path)`` says whether
``FastTextNumpy`` covers a file: supervised models, ``wordNgrams`` 1, loss ``hs`` or ``softmax``."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MAGIC, VERSION = 793712314, 12
LOSS_HS, LOSS_SOFTMAX = 1, 3
MODEL_SUPERVISED = 3


def _unsupported(model: int, loss: int, word_ngrams: int) -> str | None:
    """Why a model with these arguments is not covered here, or None when it is."""
    if model != MODEL_SUPERVISED or loss not in (LOSS_HS, LOSS_SOFTMAX) or word_ngrams > 1:
        return (
            f"model={model} loss={loss} wordNgrams={word_ngrams} "
            "(supported: supervised, hs or softmax, wordNgrams 1)"
        )
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


@dataclass
class ModelFile:
    """What prediction needs from a model file. ``bucket_rows``: n-gram bucket -> input row for pruned
    models (-1: dropped), None when not pruned or when every n-gram was pruned (``pruned`` tells which)."""

    args: Args
    words: dict[bytes, int]  # word -> input row
    nwords: int
    labels: list[str]  # with their __label__ prefix
    label_counts: list[int]
    pruned: bool
    bucket_rows: np.ndarray | None
    input: np.ndarray  # (words + buckets) x dim, float32
    output: np.ndarray  # labels x dim, float32


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


def read_model(path: str | Path) -> ModelFile:
    """The model in ``path``; raises UnsupportedModel for files ``supported`` rejects."""
    data = Path(path).read_bytes()
    r = _Reader(data)
    if len(data) < 8 or r.unpack("ii") != (MAGIC, VERSION):
        raise UnsupportedModel(f"{path}: not a fastText model of format version {VERSION}")
    dim, _ws, _epoch, _min_count, _neg, word_ngrams, loss, model, bucket, minn, maxn, _lr_update = r.unpack(
        "12i"
    )
    r.unpack("d")
    args = Args(dim, word_ngrams, loss, model, bucket, minn, maxn)
    why = _unsupported(model, loss, word_ngrams)
    if why:
        raise UnsupportedModel(f"{path}: {why}")
    size, nwords, nlabels = r.unpack("iii")
    _ntokens, pruneidx_size = r.unpack("qq")
    words, labels, label_counts = {}, [], []
    for i in range(size):
        word = r.cstring()
        count, kind = r.unpack("qb")
        if kind == 0:
            words[word] = i
        else:
            labels.append(word.decode("utf-8", "replace"))
            label_counts.append(count)
    bucket_rows = None
    if pruneidx_size > 0:
        pairs = r.array(np.int32, 2 * pruneidx_size).reshape(-1, 2)
        bucket_rows = np.full(bucket, -1, dtype=np.int32)
        bucket_rows[pairs[:, 0]] = nwords + pairs[:, 1]
    quant_input = bool(r.unpack("?"))
    input_rows = np.ascontiguousarray(_matrix(r, quant_input), dtype=np.float32)
    qout = bool(r.unpack("?"))
    output = _matrix(r, quant_input and qout)
    if input_rows.shape[1] != dim or output.shape[0] != nlabels:
        raise UnsupportedModel(
            f"{path}: matrix shapes {input_rows.shape}/{output.shape} do not match "
            f"dim={dim}, {nlabels} labels"
        )
    return ModelFile(
        args, words, nwords, labels, label_counts, pruneidx_size >= 0, bucket_rows, input_rows, output
    )


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
