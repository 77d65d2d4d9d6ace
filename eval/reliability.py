"""Agreement statistics: quadratically weighted Cohen's kappa, Krippendorff's alpha, correlations,
bootstrap confidence intervals. Pure functions on plain sequences; NaN when a figure is undefined."""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np

from eval.rubric import LEVELS


def weighted_kappa(
    a: Sequence[int], b: Sequence[int], levels: Sequence[int] = LEVELS, weights: str = "quadratic"
) -> float:
    """Cohen's kappa between two raters' paired ratings, quadratic (or linear) disagreement weights."""
    if len(a) != len(b):
        raise ValueError("weighted_kappa: rating lists differ in length")
    if not a:
        return math.nan
    index = {v: i for i, v in enumerate(levels)}
    k = len(levels)
    observed = np.zeros((k, k))
    for x, y in zip(a, b, strict=True):
        observed[index[x], index[y]] += 1
    n = observed.sum()
    expected = np.outer(observed.sum(1), observed.sum(0)) / n
    i, j = np.indices((k, k))
    dist = np.abs(i - j) / (k - 1)
    w = dist**2 if weights == "quadratic" else dist
    denom = (w * expected).sum()
    if denom == 0:
        return math.nan
    return float(1 - (w * observed).sum() / denom)


def krippendorff_alpha(units: Sequence[Sequence[float | None]], level: str = "interval") -> float:
    """Krippendorff's alpha for ``units`` (one list of ratings per unit, None = missing).

    level: nominal | ordinal | interval. Uses the coincidence-matrix formulation (Krippendorff 2011);
    units with fewer than two ratings are not pairable and are ignored.
    """
    if level not in ("nominal", "ordinal", "interval"):
        raise ValueError(f"unknown level {level!r}")
    rated = [[v for v in u if v is not None and not (isinstance(v, float) and math.isnan(v))] for u in units]
    rated = [u for u in rated if len(u) >= 2]
    if not rated:
        return math.nan
    values = sorted({v for u in rated for v in u})
    index = {v: i for i, v in enumerate(values)}
    k = len(values)
    o = np.zeros((k, k))
    for u in rated:
        counts = np.zeros(k)
        for v in u:
            counts[index[v]] += 1
        pairs = np.outer(counts, counts) - np.diag(counts)  # ordered pairs of distinct ratings
        o += pairs / (len(u) - 1)
    n_c = o.sum(1)
    n = n_c.sum()
    if level == "nominal":
        delta = 1.0 - np.eye(k)
    elif level == "interval":
        v = np.asarray(values, dtype=float)
        delta = (v[:, None] - v[None, :]) ** 2
    else:
        cum = np.cumsum(n_c)
        delta = np.zeros((k, k))
        for c in range(k):
            for d in range(k):
                lo, hi = min(c, d), max(c, d)
                between = cum[hi] - (cum[lo - 1] if lo > 0 else 0.0)
                delta[c, d] = (between - (n_c[c] + n_c[d]) / 2) ** 2
    d_e = (np.outer(n_c, n_c) * delta).sum()
    if d_e == 0:
        return math.nan
    return float(1 - (n - 1) * (o * delta).sum() / d_e)


def correlations(x: Sequence[float], y: Sequence[float]) -> tuple[float, float]:
    """(Pearson r, Spearman rho); NaN with fewer than 3 pairs or a constant side."""
    if len(x) < 3 or len(set(x)) < 2 or len(set(y)) < 2:
        return math.nan, math.nan
    from scipy import stats

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(stats.pearsonr(x, y)[0]), float(stats.spearmanr(x, y)[0])


def bootstrap_ci(
    values: Sequence[float], seed: int, n_boot: int = 1000, confidence: float = 0.95, chunk: int = 200
) -> tuple[float, float]:
    """Percentile bootstrap CI of the mean (seeded, resampled in chunks to bound memory)."""
    arr = np.asarray(values, dtype=float)
    if arr.size == 0:
        return math.nan, math.nan
    if arr.size == 1:
        return float(arr[0]), float(arr[0])
    rng = np.random.default_rng(seed)
    means = np.empty(n_boot)
    for start in range(0, n_boot, chunk):
        m = min(chunk, n_boot - start)
        means[start : start + m] = arr[rng.integers(0, arr.size, size=(m, arr.size))].mean(1)
    tail = (1 - confidence) / 2 * 100
    lo, hi = np.percentile(means, [tail, 100 - tail])
    return float(lo), float(hi)


def _resamples(n: int, seed: int, n_boot: int, chunk: int = 200):
    """Seeded bootstrap index arrays (``chunk`` x ``n`` at a time, to bound memory)."""
    rng = np.random.default_rng(seed)
    for start in range(0, n_boot, chunk):
        yield rng.integers(0, n, size=(min(chunk, n_boot - start), n))


def _percentiles(stats: np.ndarray, confidence: float) -> tuple[float, float]:
    """Percentile interval of the defined (finite) replicates; NaN when none is defined."""
    stats = stats[np.isfinite(stats)]
    if stats.size == 0:
        return math.nan, math.nan
    tail = (1 - confidence) / 2 * 100
    lo, hi = np.percentile(stats, [tail, 100 - tail])
    return float(lo), float(hi)


def kappa_bootstrap_ci(
    a: Sequence[int],
    b: Sequence[int],
    seed: int,
    n_boot: int = 1000,
    confidence: float = 0.95,
    levels: Sequence[int] = LEVELS,
) -> tuple[float, float]:
    """Percentile bootstrap CI (items resampled) of the quadratically weighted kappa of paired ratings;
    the same figure as ``weighted_kappa`` on every replicate, computed for all replicates at once."""
    if len(a) != len(b):
        raise ValueError("kappa_bootstrap_ci: rating lists differ in length")
    n, k = len(a), len(levels)
    if n < 2:
        return math.nan, math.nan
    index = {v: i for i, v in enumerate(levels)}
    cell = np.array([index[x] * k + index[y] for x, y in zip(a, b, strict=True)])
    i, j = np.indices((k, k))
    w = ((i - j) / (k - 1)) ** 2
    out = []
    for idx in _resamples(n, seed, n_boot):
        m = idx.shape[0]
        flat = (cell[idx] + np.arange(m)[:, None] * k * k).ravel()
        observed = np.bincount(flat, minlength=m * k * k).reshape(m, k, k).astype(float)
        expected = observed.sum(2)[:, :, None] * observed.sum(1)[:, None, :] / n
        denom = (w * expected).sum((1, 2))
        with np.errstate(divide="ignore", invalid="ignore"):
            out.append(np.where(denom > 0, 1 - (w * observed).sum((1, 2)) / denom, np.nan))
    return _percentiles(np.concatenate(out), confidence)


def spearman_bootstrap_ci(
    x: Sequence[float], y: Sequence[float], seed: int, n_boot: int = 1000, confidence: float = 0.95
) -> tuple[float, float]:
    """Percentile bootstrap CI (pairs resampled) of Spearman's rho; replicates with a constant side are
    undefined and left out."""
    if len(x) != len(y):
        raise ValueError("spearman_bootstrap_ci: lists differ in length")
    if len(x) < 3:
        return math.nan, math.nan
    from scipy.stats import rankdata

    xa, ya = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    out = []
    for idx in _resamples(len(xa), seed, n_boot):
        rx, ry = rankdata(xa[idx], axis=1), rankdata(ya[idx], axis=1)
        rx -= rx.mean(1, keepdims=True)
        ry -= ry.mean(1, keepdims=True)
        denom = np.sqrt((rx * rx).sum(1) * (ry * ry).sum(1))
        with np.errstate(divide="ignore", invalid="ignore"):
            out.append(np.where(denom > 0, (rx * ry).sum(1) / denom, np.nan))
    return _percentiles(np.concatenate(out), confidence)
