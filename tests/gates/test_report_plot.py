"""filter_stats.png, opened: labelled when nothing was dropped, kept counts under each language."""

from __future__ import annotations

from moud_gates.report import plot_stats
from tests.plot_checks import captured_figures, legend_overlaps


def _labels(ax) -> list[str]:
    return [t.get_text() for t in ax.get_xticklabels()]


def test_nothing_dropped_says_so_with_kept_counts(tmp_path, monkeypatch):
    stats = {
        "languages": {
            "fr": {"input": 40, "kept": 40, "dropped": {}},
            "zh": {"input": 35, "kept": 35, "dropped": {"lid": 0}},
        }
    }
    with captured_figures(monkeypatch) as figs:
        plot_stats(stats, tmp_path / "filter_stats.png")
    ax = figs[0].axes[0]
    assert any("nothing dropped" in t.get_text() for t in ax.texts)
    assert _labels(ax) == ["fr\nkept 40/40", "zh\nkept 35/35"]
    assert (tmp_path / "filter_stats.png").read_bytes()[:4] == b"\x89PNG"


def test_drops_per_gate_with_a_legend_beside_the_bars(tmp_path, monkeypatch):
    stats = {
        "languages": {
            "fr": {"input": 40, "kept": 30, "dropped": {"lid": 6, "dedup": 4}},
            "sw": {"input": 12, "kept": 0, "dropped": {"lid": 12}},
        }
    }
    with captured_figures(monkeypatch) as figs:
        plot_stats(stats, tmp_path / "filter_stats.png")
    ax = figs[0].axes[0]
    assert not ax.texts and _labels(ax) == ["fr\nkept 30/40", "sw\nkept 0/12"]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["dedup", "lid"]
    assert legend_overlaps(figs[0]) == []
