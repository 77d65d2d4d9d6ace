"""Near-duplicate gate: MinHash signatures over token shingles + LSH banding, keeping the first row seen.

Signatures are pure (computed in worker processes); ``DedupIndex`` is the per-language state that
admits or rejects them in input (id) order.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np
import xxhash

from moud_core.text import tokenize
from moud_core.typed_config import at_least, between
from moud_gates.base import Drop, Gate, GateContext, register

_MASK32 = np.uint64(0xFFFFFFFF)


@functools.cache
def _permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    a = rng.integers(1, 2**63, size=num_perm, dtype=np.uint64) | np.uint64(1)
    b = rng.integers(0, 2**63, size=num_perm, dtype=np.uint64)
    return a, b


_TOKEN_HASHES: dict[str, int] = {}  # token -> xxh64 (tokens repeat across rows: hash each once)
_TOKEN_HASHES_MAX = 1 << 18
_FNV64_BASIS, _FNV64_PRIME = np.uint64(0xCBF29CE484222325), np.uint64(0x100000001B3)
TURN_BOUNDARY = "\x1e"


def minhash(shingles: np.ndarray, num_perm: int, seed: int) -> np.ndarray:
    """uint32 MinHash signature of a set of 64-bit shingle hashes: multiply-shift hashing (top 32 bits)."""
    a, b = _permutations(num_perm, seed)
    if not len(shingles):
        return np.full(num_perm, 0xFFFFFFFF, dtype=np.uint32)
    perm = np.multiply.outer(a, shingles)  # (h * a + b) mod 2**64, in place; permutations x shingles
    perm += b[:, None]
    return (perm.min(axis=1) >> np.uint64(32)).astype(np.uint32)


def token_hashes(tokens: list[str]) -> np.ndarray:
    """xxh64 of each token (UTF-8), remembered across rows."""
    cache = _TOKEN_HASHES
    missing = [t for t in dict.fromkeys(tokens) if t not in cache]
    if missing:
        if len(cache) + len(missing) > _TOKEN_HASHES_MAX:
            cache.clear()
            missing = list(dict.fromkeys(tokens))
        digest = xxhash.xxh64_intdigest
        cache.update((t, digest(t.encode("utf-8", "surrogatepass"))) for t in missing)
    return np.fromiter(map(cache.__getitem__, tokens), dtype=np.uint64, count=len(tokens))


def _fnv_mix(h: np.ndarray, columns) -> np.ndarray:
    """FNV-1a of uint64 ``columns`` (arrays shaped like ``h``, folded in order) on top of ``h`` (in place),
    then a splitmix64 finalizer."""
    for col in columns:
        h ^= col
        h *= _FNV64_PRIME
    h ^= h >> np.uint64(30)
    h *= np.uint64(0xBF58476D1CE4E5B9)
    h ^= h >> np.uint64(27)
    h *= np.uint64(0x94D049BB133111EB)
    h ^= h >> np.uint64(31)
    return h


def _ngram_hashes(ids: np.ndarray, n: int) -> np.ndarray:
    """Hash of every run of ``n`` consecutive token hashes."""
    count = len(ids) - n + 1
    return _fnv_mix(np.full(count, _FNV64_BASIS, dtype=np.uint64), (ids[j : j + count] for j in range(n)))


def shingle_hashes(tokens: list[str], n: int) -> np.ndarray:
    """64-bit hashes of the token n-grams (repeats included: MinHash of a multiset is that of its set);
    fewer than n tokens make one shingle of them all."""
    if n <= 0 or not tokens:
        return np.zeros(1, dtype=np.uint64)
    return _ngram_hashes(token_hashes(tokens), min(n, len(tokens)))


def minhash_many(
    token_lists: list[list[str]], n: int, num_perm: int, seed: int, block: int = 1 << 14
) -> list[np.ndarray]:
    """``minhash(shingle_hashes(tokens, n), num_perm, seed)`` of many token lists, with a few large numpy
    operations instead of a few small ones per list (same signatures)."""
    if n <= 0 or any(len(t) < n for t in token_lists):  # rare shapes: one by one
        return [minhash(shingle_hashes(t, n), num_perm, seed) for t in token_lists]
    a, b = _permutations(num_perm, seed)
    lengths = np.fromiter(map(len, token_lists), dtype=np.int64, count=len(token_lists))
    ids = token_hashes([t for tokens in token_lists for t in tokens])
    h = _ngram_hashes(ids, n)
    starts = np.cumsum(lengths) - lengths
    counts = lengths - n + 1  # n-grams that stay inside their list
    valid = np.repeat(starts, counts) + (
        np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    )
    h = h[valid]
    bounds = np.cumsum(counts) - counts
    out: list[np.ndarray] = []
    i = 0
    while i < len(token_lists):  # blocks of whole lists, about ``block`` shingles each
        j = i + 1
        while j < len(token_lists) and bounds[j] + counts[j] - bounds[i] <= block:
            j += 1
        part = np.multiply.outer(a, h[bounds[i] : bounds[j - 1] + counts[j - 1]])  # permutations x shingles
        part += b[:, None]
        mins = np.minimum.reduceat(part, bounds[i:j] - bounds[i], axis=1)
        mins >>= np.uint64(32)  # the top 32 bits of the minimum are the minimum of the top 32 bits
        out.extend(mins.T.astype(np.uint32))
        i = j
    return out


def dialogue_tokens(row: dict, segmentation: str, tokens_of=None) -> list[str]:
    """The tokens of every turn, each turn followed by a boundary token. ``tokens_of(text)`` defaults to
    ``tokenize(text, segmentation)`` (same tokens as ``moud_core.text``)."""
    tokens: list[str] = []
    for turn in row["turns"]:
        tokens.extend(tokens_of(turn["text"]) if tokens_of else tokenize(turn["text"], segmentation))
        tokens.append(TURN_BOUNDARY)
    return tokens


def band_keys(sigs: np.ndarray, bands: int) -> np.ndarray:
    """(rows x bands) uint64 LSH bucket keys of (rows x num_perm) signatures: a hash of each band's values
    and its index (rows with equal keys share that band)."""
    n, num_perm = sigs.shape
    rows = num_perm // bands
    parts = sigs[:, : bands * rows].reshape(n, bands, rows).astype(np.uint64)
    h = np.broadcast_to(
        np.arange(bands, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15) ^ _FNV64_BASIS, (n, bands)
    ).copy()
    return _fnv_mix(h, (parts[:, :, j] for j in range(rows)))


class DedupIndex:
    """LSH index of one language: band hash -> index of the first kept row that produced it."""

    def __init__(self, bands: int, threshold: float):
        self.bands, self.threshold = bands, threshold
        self.buckets: dict[int, int] = {}
        self.exact: dict[int, int] = {}
        self.ids: list[str] = []
        self.sigs: list[np.ndarray] = []

    def admit(
        self, row_id: str, sig: np.ndarray, exact_key: int, keys: np.ndarray | None = None
    ) -> tuple[str, float, str] | None:
        """Record the row and return None, or return (earlier duplicate's id, estimated Jaccard, kind).
        ``keys``: ``band_keys(sig, bands)`` when the caller has them already."""
        if exact_key in self.exact:
            return self.ids[self.exact[exact_key]], 1.0, "exact"
        keys = (band_keys(sig[None, :], self.bands)[0] if keys is None else keys).tolist()
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


def exact_key(row: dict) -> int:
    """Hash of the turns with whitespace normalised: equal keys are exact duplicates."""
    return xxhash.xxh64_intdigest(
        TURN_BOUNDARY.join(" ".join(t["text"].split()) for t in row["turns"]).encode()
    )


@register
class DedupGate(Gate):
    name = "dedup"
    stateful = True

    @dataclass(frozen=True)
    class Params:
        """``dedup`` settings (data/filters.yaml): MinHash, ``num_perm`` permutations in ``bands`` bands."""

        shingle_n: int = field(metadata=at_least(1))
        num_perm: int = field(metadata=at_least(1))
        bands: int = field(metadata=at_least(1))
        jaccard_threshold: float = field(metadata=between(0, 1))
        seed: int

        def check(self, need) -> None:
            need(self.num_perm % self.bands == 0, "num_perm", f"a multiple of bands ({self.bands})")

    def __init__(self):
        self.indexes: dict[str, DedupIndex] = {}

    def signature(self, row: dict, ctx: GateContext) -> tuple[np.ndarray, int, np.ndarray]:
        """(MinHash signature, exact-duplicate key, LSH band keys): pure, so workers compute it."""
        if ctx.memo is not None and "dedup_signature" in ctx.memo:  # from prefill
            return ctx.memo["dedup_signature"]
        p = ctx.params
        shingles = shingle_hashes(
            dialogue_tokens(row, ctx.lang.segmentation, ctx.tokens), int(p["shingle_n"])
        )
        sig = minhash(shingles, int(p["num_perm"]), int(p["seed"]))
        return sig, exact_key(row), band_keys(sig[None, :], int(p["bands"]))[0]

    def prefill(self, rows: list[dict], memos: list[dict], ctxs: list[GateContext]) -> None:
        """``signature`` of rows of one language (same params), computed together into each memo."""
        p = ctxs[0].params
        tokens = [
            dialogue_tokens(row, ctx.lang.segmentation, ctx.tokens)
            for row, ctx in zip(rows, ctxs, strict=True)
        ]
        sigs = minhash_many(tokens, int(p["shingle_n"]), int(p["num_perm"]), int(p["seed"]))
        keys = band_keys(np.stack(sigs), int(p["bands"])) if sigs else []
        for row, memo, sig, key in zip(rows, memos, sigs, keys, strict=True):
            memo["dedup_signature"] = (sig, exact_key(row), key)

    def release(self, code: str) -> None:
        """Forget language ``code``'s index (its rows are all admitted): memory stays that of one language."""
        self.indexes.pop(code, None)

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
        return Drop(
            self.name,
            f"{kind} duplicate of {other} (estimated Jaccard {est:.2f}, threshold {p['jaccard_threshold']})",
            {"duplicate_of": other, "jaccard": round(est, 4), "kind": kind},
        )

    def check(self, row: dict, ctx: GateContext) -> Drop | None:
        return self.admit(row, self.signature(row, ctx), ctx)
