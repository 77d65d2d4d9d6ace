"""The report plots, opened: legends beside the data (never over it), turn-length axes fitted to the data."""

from __future__ import annotations

from eval import plots
from tests.plot_checks import captured_figures, legend_overlaps


def test_legends_do_not_cover_the_data(tmp_path, monkeypatch):
    groups = {
        f"{lang} · model-{m}": {"speech events": 0.9, "persona categories": 1.0}
        for lang in ("fr", "de", "zh", "ja", "ko")
        for m in "ab"
    }
    with captured_figures(monkeypatch) as figs:
        plots.bars(groups, "Taxonomy coverage", "share covered", tmp_path / "coverage.png")
        plots.score_distributions(
            {"fluency": [0, 0, 1, 5, 20], "coherence": [0, 1, 2, 10, 12]}, "Scores", tmp_path / "scores.png"
        )
        plots.lid_distributions({"fr": [0] * 90 + [5] * 10, "zh": [0] * 95 + [9] * 5}, tmp_path / "lid.png")
    assert len(figs) == 3
    for fig in figs:
        assert legend_overlaps(fig) == []
    assert all(
        (tmp_path / name).read_bytes()[:4] == b"\x89PNG" for name in ("coverage.png", "scores.png", "lid.png")
    )


def test_turn_length_axes_fit_the_data_per_kind_of_token(tmp_path, monkeypatch):
    words = [0] * 201
    for n in range(3, 25):
        words[n] = 10
    chars = [0] * 201
    for n in range(10, 60):
        chars[n] = 4
    chars[200] = 1  # a few very long turns: the axis still ends near the bulk of the data
    with captured_figures(monkeypatch) as figs:
        plots.turn_length_distributions(
            {"fr": words, "zh": chars, "ja": chars},
            {"fr": "words", "zh": "chars", "ja": "chars"},
            tmp_path / "t.png",
        )
    (fig,) = figs
    by_title = {ax.get_title(): ax for ax in fig.axes}
    assert set(by_title) == {"Turn length (words)", "Turn length (characters)"}
    assert 24 <= by_title["Turn length (words)"].get_xlim()[1] <= 26
    assert 59 <= by_title["Turn length (characters)"].get_xlim()[1] <= 61
    assert {t.get_text() for t in by_title["Turn length (characters)"].get_legend().get_texts()} == {
        "zh",
        "ja",
    }
    assert legend_overlaps(fig) == []
