"""moud evaluate's tables and plots: matrix.png has matrix.md's columns in the same order and readable cell
text; results.png keeps its legend off the bars."""

from __future__ import annotations

import re

from baselines.report import matrix_chart, matrix_markdown, results_chart, text_colour
from tests.plot_checks import captured_figures, legend_overlaps

TABLE = {  # insertion order on purpose: not sorted
    "moud": {"xpersona": {"zh": {"hits@1": 0.95}, "fr": {"hits@1": 0.20}}, "moud": {"ja": {"hits@1": 0.60}}},
    "both": {"xpersona": {"zh": {"hits@1": 0.90}, "fr": {"hits@1": 0.05}}, "moud": {"ja": {"hits@1": 0.55}}},
}


def test_matrix_png_columns_and_text_colours(tmp_path, monkeypatch):
    header = next(line for line in matrix_markdown(TABLE).splitlines() if line.startswith("| train"))
    md_cols = [c.strip() for c in header.split("|")[2:-1]]
    assert md_cols == ["xpersona/zh", "xpersona/fr", "moud/ja"]
    with captured_figures(monkeypatch) as figs:
        matrix_chart(TABLE, tmp_path / "matrix.png")
    (fig,) = figs
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == md_cols
    image = ax.get_images()[0]
    for text in ax.texts:
        value = float(text.get_text())
        background = image.cmap(image.norm(value))
        assert text.get_color() == text_colour(background)
    colours = {float(t.get_text()): t.get_color() for t in ax.texts}
    assert colours[95.0] == "black" and colours[5.0] == "white"  # viridis: yellow top, dark purple bottom
    assert (tmp_path / "matrix.png").read_bytes()[:4] == b"\x89PNG"


def test_results_png_legend_beside_the_bars(tmp_path, monkeypatch):
    results = {
        lang: {"turns": 10, "hits@1": 0.9, "rouge_l": 0.8, "bertscore_f1": 0.85, "bpb": 1.5}
        for lang in ("fr", "zh", "ja", "ko")
    }
    with captured_figures(monkeypatch) as figs:
        results_chart(results, tmp_path / "results.png", "model on test")
    (fig,) = figs
    assert legend_overlaps(fig) == []
    assert re.search(r"hits@1", " ".join(t.get_text() for t in fig.axes[0].get_legend().get_texts()))
