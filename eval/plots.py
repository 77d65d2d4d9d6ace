"""PNG plots for evaluation reports (matplotlib, Agg backend)."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from moud_core.jsonl import atomic_open  # noqa: E402


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    with atomic_open(path, "wb") as fh:
        fig.savefig(fh, format="png", dpi=110)
    plt.close(fig)
    return path


def heatmap(matrix: list[list[float]], rows: list[str], cols: list[str], title: str, path: Path,
            vmin: float = 1.0, vmax: float = 5.0) -> Path:
    """Language x criterion heatmap with the value written in each cell (blank = no data)."""
    data = np.array([[np.nan if v is None else v for v in r] for r in matrix], dtype=float)
    fig, ax = plt.subplots(figsize=(1.3 + 1.1 * len(cols), 1.2 + 0.38 * len(rows)))
    im = ax.imshow(np.ma.masked_invalid(data), cmap="RdYlGn", vmin=vmin, vmax=vmax, aspect="auto")
    ax.set_xticks(range(len(cols)), cols, rotation=35, ha="right")
    ax.set_yticks(range(len(rows)), rows)
    for i in range(len(rows)):
        for j in range(len(cols)):
            if not math.isnan(data[i, j]):
                ax.text(j, i, f"{data[i, j]:.2f}", ha="center", va="center", fontsize=8)
    ax.set_title(title)
    fig.colorbar(im, ax=ax, fraction=0.04)
    return _save(fig, path)


def score_distributions(counts: dict[str, list[int]], title: str, path: Path) -> Path:
    """One bar group per criterion: share of items at each level 1-5."""
    names = list(counts)
    fig, ax = plt.subplots(figsize=(max(6, 1.4 * len(names)), 3.6))
    width = 0.16
    for level in range(5):
        shares = [counts[n][level] / max(1, sum(counts[n])) for n in names]
        ax.bar(np.arange(len(names)) + (level - 2) * width, shares, width, label=str(level + 1))
    ax.set_xticks(range(len(names)), names, rotation=25, ha="right")
    ax.set_ylabel("share of judged items")
    ax.set_title(title)
    ax.legend(title="score", ncols=5, fontsize=8)
    return _save(fig, path)


def lid_distributions(hists: dict[str, list[int]], path: Path) -> Path:
    """Cumulative distribution of per-turn language-ID probability, one line per language."""
    fig, ax = plt.subplots(figsize=(7, 4))
    for lang, hist in hists.items():
        h = np.asarray(hist, dtype=float)
        if h.sum() == 0:
            continue
        x = np.arange(1, len(h) + 1) / len(h)
        ax.plot(x, np.cumsum(h) / h.sum(), label=lang)
    ax.set_xlabel("LID probability of the target language (per turn)")
    ax.set_ylabel("cumulative share of turns")
    ax.set_title("Language-ID confidence")
    ax.legend(fontsize=7, ncols=2)
    return _save(fig, path)


def turn_length_distributions(hists: dict[str, list[int]], path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(7, 4))
    for lang, hist in hists.items():
        h = np.asarray(hist, dtype=float)
        if h.sum():
            ax.plot(np.arange(len(h)), h / h.sum(), label=lang, linewidth=1)
    ax.set_xlabel("tokens per turn (script-aware; last point = 200 or more)")
    ax.set_ylabel("share of turns")
    ax.set_title("Turn length")
    ax.legend(fontsize=7, ncols=2)
    return _save(fig, path)


def bars(values: dict[str, dict[str, float]], title: str, ylabel: str, path: Path) -> Path:
    """Grouped bars: outer keys on the x axis, inner keys as series."""
    groups = list(values)
    series = sorted({k for v in values.values() for k in v})
    fig, ax = plt.subplots(figsize=(max(6, 0.5 * len(groups) * max(1, len(series))), 3.6))
    width = 0.8 / max(1, len(series))
    for s_i, s in enumerate(series):
        ys = [values[g].get(s, np.nan) for g in groups]
        ax.bar(np.arange(len(groups)) + (s_i - (len(series) - 1) / 2) * width, ys, width, label=s)
    ax.set_xticks(range(len(groups)), groups)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=8)
    return _save(fig, path)
