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
        fig.savefig(fh, format="png", dpi=110, bbox_inches="tight")  # "tight": legends outside the axes too
    plt.close(fig)
    return path


def _legend_outside(ax, **kw) -> None:
    """The legend right of the axes, where it cannot cover data."""
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, **kw)


def axis_limit(hist, q: float = 0.99) -> int:
    """The bin holding quantile ``q`` of a histogram (inclusive), at least 1."""
    h = np.asarray(hist, dtype=float)
    if h.sum() == 0:
        return 1
    return max(1, int(np.searchsorted(np.cumsum(h), q * h.sum(), side="left")))


def heatmap(
    matrix: list[list[float]],
    rows: list[str],
    cols: list[str],
    title: str,
    path: Path,
    vmin: float = 1.0,
    vmax: float = 5.0,
) -> Path:
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
    _legend_outside(ax, title="score", fontsize=8)
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
    _legend_outside(ax, fontsize=7, ncols=1 + len(hists) // 16)
    return _save(fig, path)


def turn_length_distributions(hists: dict[str, list[int]], segmentation: dict[str, str], path: Path) -> Path:
    """Share of turns per length, one panel per kind of token (words; characters for zh/ja/th), each x axis
    ending at the 99th percentile of its languages' turn lengths."""
    kinds = sorted({segmentation.get(lang, "words") for lang, h in hists.items() if sum(h)}) or ["words"]
    fig, axes = plt.subplots(1, len(kinds), figsize=(6.5 * len(kinds), 4), squeeze=False)
    for ax, kind in zip(axes[0], kinds, strict=True):
        langs = [lang for lang, h in hists.items() if sum(h) and segmentation.get(lang, "words") == kind]
        last = len(next(iter(hists.values()), [0])) - 1
        limit = min(last, max([axis_limit(hists[lang]) for lang in langs] or [1]) + 1)
        for lang in langs:
            h = np.asarray(hists[lang], dtype=float)
            ax.plot(np.arange(limit + 1), h[: limit + 1] / h.sum(), label=lang, linewidth=1)
        ax.set_xlim(0, limit)
        unit = "characters" if kind == "chars" else "words"
        note = f"; last point = {last} or more" if limit == last else " (axis ends at the 99th percentile)"
        ax.set_xlabel(f"{unit} per turn{note}")
        ax.set_ylabel("share of turns")
        ax.set_title(f"Turn length ({unit})")
        if langs:
            _legend_outside(ax, fontsize=7, ncols=1 + len(langs) // 16)
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
    crowded = len(groups) > 8 or max(map(len, groups), default=0) > 6
    ax.set_xticks(
        range(len(groups)), groups, rotation=35 if crowded else 0, ha="right" if crowded else "center"
    )
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    _legend_outside(ax, fontsize=8)
    return _save(fig, path)


def judge_vs_human(panels: dict[str, dict[str, tuple[list, list]]], path: Path, seed: int = 0) -> Path:
    """One panel per language: judge score (x) against the mean human score (y), one colour per criterion,
    points jittered (seeded) so that equal scores stay visible; the diagonal marks perfect agreement."""
    langs = list(panels)
    cols = min(4, max(1, len(langs)))
    rows = math.ceil(len(langs) / cols) if langs else 1
    names = sorted({c for p in panels.values() for c in p})
    colours = {c: plt.cm.tab10(i % 10) for i, c in enumerate(names)}
    rng = np.random.default_rng(seed)
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols + 1.9, 3.1 * rows), squeeze=False)
    for ax, lang in zip(axes.flat, langs, strict=False):
        n = 0
        for crit, (judge, human) in sorted(panels[lang].items()):
            x = np.asarray(judge, dtype=float) + rng.uniform(-0.12, 0.12, len(judge))
            y = np.asarray(human, dtype=float) + rng.uniform(-0.12, 0.12, len(human))
            ax.scatter(x, y, s=12, alpha=0.55, color=colours[crit], label=crit, linewidths=0)
            n = max(n, len(judge))
        ax.plot([0.6, 5.4], [0.6, 5.4], color="0.5", linewidth=0.8, linestyle="--")
        ax.set(xlim=(0.6, 5.4), ylim=(0.6, 5.4), xticks=range(1, 6), yticks=range(1, 6), aspect="equal")
        ax.set_title(f"{lang} ({n} items)", fontsize=10)
        ax.set_xlabel("judge score", fontsize=8)
        ax.set_ylabel("mean human score", fontsize=8)
    for ax in list(axes.flat)[len(langs) :]:
        ax.axis("off")
    handles = [plt.Line2D([], [], marker="o", linestyle="", color=colours[c], label=c) for c in names]
    fig.legend(handles=handles, loc="center right", fontsize=8, title="criterion", frameon=False)
    fig.suptitle("Judge against native speakers, per language", fontsize=11)
    fig.tight_layout(rect=(0, 0, 1 - 1.8 / (3.2 * cols + 1.9), 1))
    with atomic_open(path, "wb") as fh:
        fig.savefig(fh, format="png", dpi=110)
    plt.close(fig)
    return path


def panel_bars(panels: dict[str, dict[str, dict[str, float]]], title: str, path: Path) -> Path:
    """One panel per measure (outer keys, its title), grouped bars in each: groups on the x axis, series
    (inner keys, e.g. MOUD and XPersona) side by side, one colour per series in every panel."""
    series = list(dict.fromkeys(s for p in panels.values() for g in p.values() for s in g))
    colours = {s: plt.cm.tab10(i % 10) for i, s in enumerate(series)}
    groups = list(dict.fromkeys(g for p in panels.values() for g in p))
    width = 0.8 / max(1, len(series))
    fig, axes = plt.subplots(
        1, len(panels), figsize=(max(4.5, 0.45 * len(groups) * len(series) + 1.5) * len(panels), 3.8)
    )
    for ax, (name, values) in zip(np.atleast_1d(axes), panels.items(), strict=True):
        for i, s in enumerate(series):
            ys = [values.get(g, {}).get(s, np.nan) for g in groups]
            ax.bar(np.arange(len(groups)) + (i - (len(series) - 1) / 2) * width, ys, width, color=colours[s])
        crowded = len(groups) > 6 or max(map(len, groups), default=0) > 6
        ax.set_xticks(
            range(len(groups)), groups, rotation=35 if crowded else 0, ha="right" if crowded else "center"
        )
        ax.set_ylim(0, 1.0)
        ax.set_title(name, fontsize=9)
    handles = [plt.Rectangle((0, 0), 1, 1, color=colours[s]) for s in series]
    fig.legend(handles, series, loc="upper right", fontsize=8, frameon=False)
    fig.suptitle(title, fontsize=11, x=0.02, ha="left")
    return _save(fig, path)
