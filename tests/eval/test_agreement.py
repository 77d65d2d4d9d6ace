"""Judge-human agreement: figures against hand-computed values, CSV errors naming the line."""

import json

import pytest

import moud_cli
from eval.aggregate import collect
from eval.agreement_stats import agreement, majority, read_ratings
from eval.rubric import load_rubric
from moud_core.errors import MoudError

JUDGE = {"fr-1/dialogue": 1, "fr-2/dialogue": 2, "fr-3/dialogue": 3, "fr-4/dialogue": 4, "zh-1/dialogue": 5}
R1 = {"fr-1/dialogue": 1, "fr-2/dialogue": 2, "fr-3/dialogue": 3, "fr-4/dialogue": 4}
R2 = {"fr-1/dialogue": 2, "fr-2/dialogue": 2, "fr-3/dialogue": 3, "fr-4/dialogue": 5}


def _records():
    return [
        {
            "item_id": i,
            "language": i[:2],
            "generator_model": "m",
            "kind": "dialogue",
            "status": "ok",
            "scores": {"fluency": s, "toxicity": 1},
            "repeat": 0,
        }
        for i, s in JUDGE.items()
    ]


def _csv(tmp_path, lines, name="ratings.csv"):
    path = tmp_path / name
    path.write_text(
        "item_id,rater,criterion,score\n" + "".join(line + "\n" for line in lines), encoding="utf-8"
    )
    return path


@pytest.fixture()
def ratings_csv(tmp_path):
    lines = [f"{i},r1,fluency,{s}" for i, s in R1.items()] + [f"{i},r2,fluency,{s}" for i, s in R2.items()]
    return _csv(tmp_path, lines + ["zh-1/dialogue,r1,fluency,5"])


def test_agreement_hand_computed(ratings_csv):
    items = collect(_records())
    rows = {
        (r["criterion"], r["language"]): r
        for r in agreement(read_ratings(ratings_csv, items, load_rubric()), items)
    }
    fr = rows[("fluency", "fr")]
    assert fr["n_items_rated"] == 4 and fr["n_items_judge_human"] == 4 and fr["n_items_multi_rated"] == 4
    # judge [1,2,3,4] vs human mean [1.5,2,3,4.5]: r = 5 / sqrt(5 * 5.25); ranks identical -> rho = 1
    assert fr["pearson"] == pytest.approx(5 / (5 * 5.25) ** 0.5) and fr["spearman"] == pytest.approx(1.0)
    # rounded mean and majority (ties -> rounded median) are both [2,2,3,5]; quadratic weights:
    # observed 2/16, expected 48/64 -> kappa = 1 - 0.125 / 0.75
    assert fr["kappa_judge_vs_mean"] == pytest.approx(1 - 0.125 / 0.75)
    assert fr["kappa_judge_vs_majority"] == pytest.approx(1 - 0.125 / 0.75)
    assert fr["n_rater_pairs"] == 1 and fr["kappa_raters_pairwise_mean"] == pytest.approx(1 - 0.125 / 0.75)
    # Krippendorff interval alpha, units (1,2),(2,2),(3,3),(4,5): 1 - 7 * 4 / 184
    assert fr["alpha_interval"] == pytest.approx(1 - 28 / 184)
    zh = rows[("fluency", "zh")]
    assert (
        zh["n_items_rated"] == 1
        and zh["n_items_multi_rated"] == 0
        and zh["alpha_interval"] != zh["alpha_interval"]
    )
    assert rows[("fluency", "all")]["n_items_rated"] == 5


def test_majority_tie_break():
    assert majority([4, 4, 5]) == 4 and majority([1, 2]) == 2 and majority([3, 5]) == 4


@pytest.mark.parametrize(
    "line, expected",
    [
        ("fr-9/dialogue,r1,fluency,3", r"ratings\.csv:3: unknown item_id 'fr-9/dialogue'"),
        (
            "fr-2/dialogue,r1,fluency,7",
            r"ratings\.csv:3: score '7' is off the scale; expected an integer 1-5",
        ),
        ("fr-2/dialogue,r1,fluency,3.5", r"ratings\.csv:3: score '3\.5' is off the scale"),
        ("fr-2/dialogue,r1,fluency,", r"ratings\.csv:3: score '' is off the scale"),
        ("fr-2/dialogue,r1,charm,3", r"ratings\.csv:3: unknown criterion 'charm'"),
        ("fr-1/dialogue,r1,fluency,2", r"ratings\.csv:3: duplicate rating .* \(first on line 2\)"),
    ],
)
def test_bad_csv_names_the_line(tmp_path, line, expected):
    path = _csv(tmp_path, ["fr-1/dialogue,r1,fluency,1", line])
    with pytest.raises(MoudError, match=expected):
        read_ratings(path, collect(_records()), load_rubric())


def test_missing_column(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("item_id,rater,score\nfr-1/dialogue,r1,3\n", encoding="utf-8")
    with pytest.raises(MoudError, match=r"r\.csv:1: header: missing column\(s\) criterion"):
        read_ratings(path, collect(_records()), load_rubric())


def test_agreement_cli(tmp_path, ratings_csv, capsys):
    judged = tmp_path / "judgments.jsonl"
    judged.write_text("".join(json.dumps(r) + "\n" for r in _records()), encoding="utf-8")
    out = tmp_path / "agree"
    assert (
        moud_cli.main(
            ["agreement", "--ratings", str(ratings_csv), "--judgments", str(judged), "--out", str(out)]
        )
        == 0
    )
    text = (out / "report.md").read_text(encoding="utf-8")
    assert "| fluency | fr | 4 | 4 |" in text and (out / "agreement.png").exists()
    rows = json.loads((out / "agreement.json").read_text())
    assert any(r["language"] == "all" and r["criterion"] == "fluency" for r in rows)
    bad = _csv(tmp_path, ["fr-1/dialogue,r1,fluency,9"], "bad.csv")
    assert (
        moud_cli.main(
            ["agreement", "--ratings", str(bad), "--judgments", str(judged), "--out", str(tmp_path / "o2")]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert "bad.csv:2: score '9' is off the scale" in err and not (tmp_path / "o2").exists()


def test_spreadsheet_exports_read_alike(tmp_path, ratings_csv):
    """UTF-16 "Unicode text" (tab-separated) and semicolon CSVs give the same ratings as the plain CSV;
    bytes that are neither UTF-8 nor UTF-16 are one line naming the file and line."""
    items, rubric = collect(_records()), load_rubric()
    plain = read_ratings(ratings_csv, items, rubric)
    text = ratings_csv.read_text(encoding="utf-8")
    utf16 = tmp_path / "r16.txt"
    utf16.write_bytes(
        text.replace(",", "\t").encode("utf-16")
    )  # with its byte-order mark, as Excel writes it
    semi = tmp_path / "semi.csv"
    semi.write_text(text.replace(",", ";"), encoding="utf-8-sig")
    assert read_ratings(utf16, items, rubric) == plain == read_ratings(semi, items, rubric)
    latin = tmp_path / "latin.csv"
    latin.write_bytes(b"item_id,rater,criterion,score\nfr-1/dialogue,r\xe9mi,fluency,3\n")
    with pytest.raises(MoudError, match=r"latin\.csv:2: not UTF-8 or UTF-16 text"):
        read_ratings(latin, items, rubric)
