"""Write small fastText model files (format version 12) for tests: dense or product-quantized matrices,
hs or softmax loss, with or without pruned n-gram buckets. The fastText binding loads them, so tests can
compare moud_gates.lid.fasttext_numpy with fastText itself on models other than lid.176.ftz."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

LOSS = {"hs": 1, "ns": 2, "softmax": 3, "ova": 4}


def _matrix(rng: np.random.Generator, m: int, n: int, quantized: bool, qnorm: bool) -> bytes:
    if not quantized:
        return struct.pack("<qq", m, n) + rng.normal(0, 1.0, (m, n)).astype("<f4").tobytes()
    dsub = 2
    nsubq = (n + dsub - 1) // dsub
    lastdsub = n % dsub or dsub
    out = struct.pack("<?qqi", qnorm, m, n, m * nsubq)
    out += rng.integers(0, 256, m * nsubq, dtype=np.uint8).tobytes()
    out += (
        struct.pack("<iiii", n, nsubq, dsub, lastdsub) + rng.normal(0, 1.0, n * 256).astype("<f4").tobytes()
    )
    if qnorm:
        out += rng.integers(0, 256, m, dtype=np.uint8).tobytes()
        out += struct.pack("<iiii", 1, 1, 1, 1) + rng.uniform(0.2, 2.0, 256).astype("<f4").tobytes()
    return out


def write_model(
    path: Path,
    words: list[str],
    labels: list[str],
    *,
    dim: int = 8,
    bucket: int = 5000,
    minn: int = 2,
    maxn: int = 4,
    loss: str = "softmax",
    word_ngrams: int = 1,
    quantized: bool = False,
    qnorm: bool = False,
    qout: bool = False,
    pruned_buckets: int = 0,
    seed: int = 0,
) -> Path:
    """A supervised model over ``words`` (plus </s>) and ``labels`` (``__label__`` is added) with random
    weights. ``pruned_buckets`` > 0 keeps only that many n-gram buckets (as `fasttext quantize -cutoff`)."""
    rng = np.random.default_rng(seed)
    vocab = ["</s>", *words]
    head = struct.pack("<ii", 793712314, 12)
    head += struct.pack("<12i", dim, 5, 5, 1, 5, word_ngrams, LOSS[loss], 3, bucket, minn, maxn, 100)
    head += struct.pack("<d", 1e-4)
    entries = b""
    for i, w in enumerate(vocab):
        entries += w.encode() + b"\0" + struct.pack("<qb", 1000 - i, 0)
    for i, lab in enumerate(labels):  # descending counts, as fastText sorts them
        entries += f"__label__{lab}".encode() + b"\0" + struct.pack("<qb", 10**6 // (i + 1), 1)
    pruneidx = b""
    rows = len(vocab) + bucket
    if pruned_buckets:
        kept = rng.choice(bucket, pruned_buckets, replace=False)
        pruneidx = b"".join(struct.pack("<ii", int(b), j) for j, b in enumerate(kept))
        rows = len(vocab) + pruned_buckets
    dictionary = (
        struct.pack(
            "<iiiqq",
            len(vocab) + len(labels),
            len(vocab),
            len(labels),
            10**6,
            pruned_buckets if pruned_buckets else -1,
        )
        + entries
        + pruneidx
    )
    body = struct.pack("<?", quantized) + _matrix(rng, rows, dim, quantized, qnorm)
    body += struct.pack("<?", qout) + _matrix(rng, len(labels), dim, quantized and qout, qnorm)
    path = Path(path)
    path.write_bytes(head + dictionary + body)
    return path
