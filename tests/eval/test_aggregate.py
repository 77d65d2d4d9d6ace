"""Aggregation checked against hand-computed values; the report folder end to end."""

import json

import pytest

import moud_cli
from eval.aggregate import collect, consistency, failure_rates, means, win_rates
from eval.rubric import load_rubric
from tests.eval.helpers import make_row, write_shards


def rec(model, item, fluency, toxicity, repeat=0, lang="fr", status="ok"):
    scores = None if status != "ok" else {"fluency": fluency, "toxicity": toxicity}
    return {
        "item_id": item,
        "language": lang,
        "generator_model": model,
        "kind": "dialogue",
        "status": status,
        "scores": scores,
        "repeat": repeat,
        "failure_reason": "" if status == "ok" else "unparsable",
    }


RECORDS = [
    rec("a", "fr-1/dialogue", 4, 1),
    rec("a", "fr-1/dialogue", 2, 1, repeat=1),
    rec("a", "fr-2/dialogue", 5, 2),
    rec("a", "fr-3/dialogue", None, None, status="failed"),
    rec("b", "fr-1/dialogue", 3, 1),
    rec("b", "fr-2/dialogue", 4, 3),
    rec("c", "fr-9/dialogue", 2, 1),
]


@pytest.fixture(scope="module")
def items():
    return collect(RECORDS)


def test_means_hand_computed(items):
    rows = {
        (r["generator_model"], r["kind"], r["criterion"]): r for r in means(items, load_rubric(), n_boot=200)
    }
    a_flu = rows[("a", "all", "fluency")]
    # fr-1: repeats 4 and 2 -> 3; fr-2: 5 -> mean (3 + 5) / 2 = 4
    assert a_flu["mean"] == pytest.approx(4.0) and a_flu["n"] == 2
    assert a_flu["ci_low"] <= 4.0 <= a_flu["ci_high"] and 3.0 <= a_flu["ci_low"]
    assert rows[("a", "dialogue", "fluency")]["mean"] == pytest.approx(4.0)
    # overall: fr-1 mean(3, 6-1) = 4; fr-2 mean(5, 6-2) = 4.5 -> 4.25
    assert rows[("a", "all", "overall")]["mean"] == pytest.approx(4.25)
    assert rows[("b", "all", "toxicity")]["mean"] == pytest.approx(2.0)
    again = {
        (r["generator_model"], r["kind"], r["criterion"]): r for r in means(items, load_rubric(), n_boot=200)
    }
    assert again == rows  # seeded bootstrap


def test_win_rates_items_and_languages(items):
    rows = {(r["model_a"], r["model_b"], r["criterion"]): r for r in win_rates(items, load_rubric())}
    flu = rows[("a", "b", "fluency")]
    # fr-1: 3 vs 3 tie; fr-2: 5 vs 4 win -> (1 + 0.5) / 2
    assert (flu["basis"], flu["n"], flu["wins_a"], flu["ties"], flu["wins_b"]) == ("items", 2, 1, 1, 0)
    assert flu["win_rate_a"] == pytest.approx(0.75)
    tox = rows[("a", "b", "toxicity")]  # lower toxicity wins: fr-2 2 vs 3
    assert tox["win_rate_a"] == pytest.approx(0.75)
    ac = rows[("a", "c", "fluency")]  # no shared items: per-language means 4 vs 2
    assert (ac["basis"], ac["n"], ac["win_rate_a"]) == ("languages", 1, 1.0)


def test_failure_rates_and_consistency(items):
    fails = {r["generator_model"]: r for r in failure_rates(items)}
    assert fails["a"]["records"] == 4 and fails["a"]["failure_rate"] == pytest.approx(0.25)
    assert fails["a"]["reasons"] == {"unparsable": 1} and fails["b"]["failure_rate"] == 0
    cons = {r["criterion"]: r for r in consistency(items, load_rubric())}
    assert cons["fluency"]["n"] == 1 and cons["fluency"]["exact_agreement"] == 0
    assert cons["fluency"]["mean_abs_diff"] == 2 and cons["toxicity"]["exact_agreement"] == 1
    assert cons["fluency"]["swapped"] is True


def test_report_cli_writes_one_folder(tmp_path):
    judged = tmp_path / "judged"
    judged.mkdir()
    (judged / "judgments.jsonl").write_text("".join(json.dumps(r) + "\n" for r in RECORDS), encoding="utf-8")
    shards = write_shards(tmp_path / "run", [make_row("fr", 0, lid=[0.9, 0.8]), make_row("zh", 0)])
    out = tmp_path / "report"
    assert (
        moud_cli.main(
            [
                "report",
                "--judgments",
                str(judged),
                "--shards",
                str(shards),
                "--out",
                str(out),
                "--bootstrap",
                "200",
                "--quiet",
            ]
        )
        == 0
    )
    text = (out / "report.md").read_text(encoding="utf-8")
    assert "### Mean scores" in text and "4.00 [" in text and "Pairwise win rates" in text
    assert "Dataset statistics" in text and "| zh · model-a |" in text  # several generators: per model
    for name in (
        "heatmap_0.png",
        "heatmap_2.png",
        "score_distribution.png",
        "lid_confidence.png",
        "turn_lengths.png",
        "means.csv",
        "win_rates.csv",
        "failure_rates.csv",
        "stats.json",
    ):
        assert (out / name).stat().st_size > 0, name
    assert (out / "heatmap_0.png").read_bytes()[:4] == b"\x89PNG"


def test_report_rejects_bad_records(tmp_path, capsys):
    bad = tmp_path / "judgments.jsonl"
    bad.write_text(json.dumps(RECORDS[0]) + "\n" + '{"item_id": "x"}\n', encoding="utf-8")
    assert moud_cli.main(["report", "--judgments", str(bad), "--out", str(tmp_path / "r"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "judgments.jsonl:2: judgment record missing field(s)" in err


def test_several_judges_are_not_pooled():
    from moud_core.errors import MoudError

    with pytest.raises(MoudError, match="several judge models"):
        collect([dict(RECORDS[0], judge_model="j1"), dict(RECORDS[1], judge_model="j2")])
