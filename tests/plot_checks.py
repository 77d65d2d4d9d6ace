"""Open a figure a plotting function made (instead of only checking a PNG exists): ``captured_figures``
keeps every figure matplotlib would close, ``legend_overlaps`` says which legends cover an axes' data area."""

from __future__ import annotations

import contextlib

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


@contextlib.contextmanager
def captured_figures(monkeypatch):
    """Figures passed to ``plt.close`` inside the block, kept open and drawn, so they can be inspected."""
    figs: list = []
    monkeypatch.setattr(plt, "close", figs.append)
    yield figs
    for fig in figs:
        fig.canvas.draw()


def legend_overlaps(fig) -> list[str]:
    """Titles of the axes whose legend overlaps the axes' plotting area."""
    fig.canvas.draw()
    bad = []
    for ax in fig.axes:
        legend = ax.get_legend()
        if legend is not None and legend.get_window_extent().overlaps(ax.get_window_extent()):
            bad.append(ax.get_title() or "axes")
    return bad
