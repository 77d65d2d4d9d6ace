"""Near-duplicate gate: MinHash signatures over token shingles + LSH banding, keeping the first row seen.

Signatures are pure (computed in worker processes); ``DedupIndex`` is the per-language state that
admits or rejects them in input (id) order.
"""

from __future__ import annotations

import numpy as np
import xxhash

from generation.filters.base import Drop, Gate, GateContext
from generation.filters.tokens import tokenize

_MASK32 = np.uint64(0xFFFFFFFF)


def _permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    a = rng.integers(1, 2**63, size=num_perm, dtype=np.uint64) | np.uint64(1)
    b = rng.integers(0, 2**63, size=num_perm, dtype=np.uint64)
    return a, b


_PERM_CACHE: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}


def minhash(shingles: list[str], num_perm: int, seed: int) -> np.ndarray:
    """uint32 MinHash signature: multiply-shift hashing of 64-bit xxhash values (top 32 bits)."""
    key = (num_perm, seed)
    if key not in _PERM_CACHE:
        _PERM_CACHE[key] = _permutations(num_perm, seed)
    a, b = _PERM_CACHE[key]
    if not shingles:
        return np.full(num_perm, 0xFFFFFFFF, dtype=np.uint32)
    digest = xxhash.xxh64_intdigest
    h = np.fromiter([digest(s.encode()) for s in shingles], dtype=np.uint64, count=len(shingles))
    perm = np.multiply.outer(h, a)  # (h * a + b) mod 2**64, in place
    perm += b
    perm >>= np.uint64(32)
    return perm.min(axis=0).astype(np.uint32)


def dialogue_shingles(row: dict, segmentation: str, n: int, tokens_of=None) -> list[str]:
    """Unique token n-grams of the dialogue (turn boundaries are a token), joined with \\x1f.
    ``tokens_of(text)`` defaults to ``tokenize(text, segmentation)`` (same tokens as ``generation.text``)."""
    tokens: list[str] = []
    for turn in row["turns"]:
        tokens.extend(tokens_of(turn["text"]) if tokens_of else tokenize(turn["text"], segmentation))
        tokens.append("\x1e")  # turn boundary
    if n <= 0:
        return [""]
    if len(tokens) < n:
        return ["\x1f".join(tokens)]
    return list({"\x1f".join(g) for g in zip(*(tokens[i:] for i in range(n)), strict=False)})


class DedupIndex:
    """LSH index of one language: band hash -> index of the first kept row that produced it."""

    def __init__(self, bands: int, threshold: float):
        self.bands, self.threshold = bands, threshold
        self.buckets: dict[int, int] = {}
        self.exact: dict[int, int] = {}
        self.ids: list[str] = []
        self.sigs: list[np.ndarray] = []

    def admit(self, row_id: str, sig: np.ndarray, exact_key: int) -> tuple[str, float, str] | None:
        """Record the row and return None, or return (earlier duplicate's id, estimated Jaccard, kind)."""
        if exact_key in self.exact:
            return self.ids[self.exact[exact_key]], 1.0, "exact"
        rows = len(sig) // self.bands
        keys = [xxhash.xxh64_intdigest(sig[i * rows:(i + 1) * rows].tobytes(), seed=i) for i in range(self.bands)]
        best = None
        for key in keys:
            j = self.buckets.get(key)
            if j is not None:
                est = float(np.mean(self.sigs[j] == sig))
                if est >= self.threshold and (best is None or est > best[1]):
                    best = (j, est)
        if best is not None:
            return self.ids[best[0]], best[1], "near"
        idx = len(self.ids)
        self.ids.append(row_id)
        self.sigs.append(sig)
        self.exact[exact_key] = idx
        for key in keys:
            self.buckets.setdefault(key, idx)
        return None


class DedupGate(Gate):
    name = "dedup"
    stateful = True

    def __init__(self):
        self.indexes: dict[str, DedupIndex] = {}

    def signature(self, row: dict, ctx: GateContext) -> tuple[np.ndarray, int]:
        p = ctx.params
        shingles = dialogue_shingles(row, ctx.lang.segmentation, int(p["shingle_n"]), ctx.tokens)
        exact = xxhash.xxh64_intdigest("\x1e".join(" ".join(t["text"].split()) for t in row["turns"]).encode())
        return minhash(shingles, int(p["num_perm"]), int(p["seed"])), exact

    def admit(self, row: dict, signature, ctx: GateContext) -> Drop | None:
        return self.admit_id(row["id"], signature, ctx)

    def admit_id(self, row_id: str, signature, ctx: GateContext) -> Drop | None:
        p = ctx.params
        index = self.indexes.get(ctx.lang.code)
        if index is None:
            index = self.indexes[ctx.lang.code] = DedupIndex(int(p["bands"]), float(p["jaccard_threshold"]))
        hit = index.admit(row_id, *signature)
        if hit is None:
            return None
        other, est, kind = hit
        return Drop(self.name, f"{kind} duplicate of {other} (estimated Jaccard {est:.2f}, threshold "
                    f"{p['jaccard_threshold']})", {"duplicate_of": other, "jaccard": round(est, 4), "kind": kind})

    def check(self, row: dict, ctx: GateContext) -> Drop | None:
        return self.admit(row, self.signature(row, ctx), ctx)
