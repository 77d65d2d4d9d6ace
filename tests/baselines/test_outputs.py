"""train / evaluate outputs: the saved candidates are exactly the turns scored, unwritable output folders
and bad candidate files are one line and exit 2 with nothing written, outputs follow the umask, and the
benchmark's synthetic turns (a clone without ../shared) can draw 19 distractors."""

from __future__ import annotations

import json

import pytest

from tests.bad_outputs import BAD_OUT_KINDS, bad_out, snapshot, umask, wrong_modes
from tests.baselines.helpers import write_xpersona, write_xpersona_fr_zh
from tests.cli import moud

EVALUATE = "--no-generate --num-candidates 5 --quiet".split()
TRAIN = "--max-steps 2 --batch-size 2 --grad-accum 1 --max-length 64 --save-steps 1 --quiet".split()


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("bl-out")
    xp = tmp / "xp"
    write_xpersona_fr_zh(xp)
    return {"tmp": tmp, "xp": xp}


@pytest.fixture(scope="module")
def model(data, tiny_bloom):
    out = data["tmp"] / "model"
    assert (
        moud("train", "--model", tiny_bloom, "--train", f"xpersona:{data['xp']}", *TRAIN, "--out", out) == 0
    )
    return out


def _one_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    return err


def _evaluate(model, out, *extra):
    return moud("evaluate", "--model", model, *EVALUATE, "--out", out, *extra)


def test_saved_candidates_are_exactly_the_turns_scored(data, model, tmp_path):
    first = tmp_path / "first"
    assert _evaluate(model, first, "--test", f"xpersona:{data['xp']}", "--max-turns", "3") == 0
    saved = [json.loads(line) for line in (first / "candidates.jsonl").read_text().splitlines()]
    assert [(i["language"], i["turn"]) for i in saved] == [
        ("fr", 0),
        ("fr", 1),
        ("fr", 0),
        ("zh", 0),
        ("zh", 1),
        ("zh", 0),
    ]
    again = tmp_path / "again"
    assert _evaluate(model, again, "--candidates", str(first / "candidates.jsonl")) == 0
    res = json.loads((again / "results.json").read_text())
    assert {lang: r["turns"] for lang, r in res["languages"].items()} == {"fr": 3, "zh": 3}
    assert res["languages"] == json.loads((first / "results.json").read_text())["languages"]
    # a cut of a saved file is saved as what was scored
    cut = tmp_path / "cut"
    assert _evaluate(model, cut, "--candidates", str(first / "candidates.jsonl"), "--max-turns", "1") == 0
    assert len((cut / "candidates.jsonl").read_text().splitlines()) == 2
    assert json.loads((cut / "results.json").read_text())["candidates_file"] == str(cut / "candidates.jsonl")


@pytest.mark.parametrize("kind", BAD_OUT_KINDS)
def test_unwritable_out_is_one_line_and_writes_nothing(
    data, model, tiny_bloom, tmp_path, monkeypatch, capsys, kind
):
    out = bad_out(kind, tmp_path, monkeypatch)
    before = snapshot(tmp_path)
    assert _evaluate(model, out, "--test", f"xpersona:{data['xp']}", "--max-turns", "1") == 2
    line = _one_line(capsys)
    assert line.startswith("moud evaluate: error:") and str(out) in line, line
    assert (
        moud("train", "--model", tiny_bloom, "--train", f"xpersona:{data['xp']}", *TRAIN, "--out", out) == 2
    )
    line = _one_line(capsys)
    assert line.startswith("moud train: error:") and str(out) in line, line
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("mask", [0o022, 0o077])
def test_train_and_evaluate_outputs_follow_the_umask(data, tiny_bloom, tmp_path, mask):
    with umask(mask):
        assert (
            moud(
                "train",
                "--model",
                tiny_bloom,
                "--train",
                f"xpersona:{data['xp']}",
                *TRAIN,
                "--out",
                tmp_path / "model",
            )
            == 0
        )
        assert (
            _evaluate(
                tmp_path / "model", tmp_path / "eval", "--test", f"xpersona:{data['xp']}", "--max-turns", "2"
            )
            == 0
        )
    assert list((tmp_path / "model").glob("*.safetensors")) and list(
        (tmp_path / "model").glob("checkpoint-*")
    )
    assert {p.name for p in (tmp_path / "eval").iterdir()} == {
        "results.json",
        "results.md",
        "results.png",
        "fr.jsonl",
        "zh.jsonl",
        "candidates.jsonl",
    }
    assert wrong_modes(tmp_path / "model", mask) == []
    assert wrong_modes(tmp_path / "eval", mask) == []


def test_corrupt_candidates_file_is_one_line(model, tmp_path, capsys):
    bad = tmp_path / "cands.jsonl"
    bad.write_text(
        '{"language": "fr", "persona": ["a"], "history": ["b"], "reply": "c", "dialogue_id": "d", '
        '"turn": 0, "source": "x", "candidates": ["c", "e"], "label": 0}\n{"language": "fr", "pers'
    )
    assert _evaluate(model, tmp_path / "o", "--candidates", str(bad)) == 2
    line = _one_line(capsys)
    assert "cands.jsonl:2: invalid JSON at column 20 (Unterminated string)" in line
    bad.write_text(
        '{"language": "fr", "persona": "a", "history": ["b"], "reply": "c", "dialogue_id": "d", '
        '"turn": 0, "source": "x", "candidates": ["c", "e"], "label": 0}\n'
    )
    assert _evaluate(model, tmp_path / "o", "--candidates", str(bad)) == 2
    assert "cands.jsonl:1: field 'persona': expected a list of strings" in _one_line(capsys)
    assert not (tmp_path / "o").exists()


def test_xpersona_split_that_is_absent_says_which_are_there(model, tmp_path, capsys):
    xp = tmp_path / "xp"
    write_xpersona(xp, "Fr", "split_valid_human_annotated")
    assert _evaluate(model, tmp_path / "o", "--test", f"xpersona:{xp}", "--split", "test") == 2
    line = _one_line(capsys)
    assert f"{xp}: no xpersona test data (the folder has valid files: use xpersona:{xp}@valid)" in line
    assert _evaluate(model, tmp_path / "o", "--test", f"xpersona:{xp}", "--languages", "fr") == 2
    line = _one_line(capsys)
    assert f"{xp}: no xpersona test data (the folder has valid files" in line
    assert not (tmp_path / "o").exists()


def test_bench_falls_back_to_synthetic_turns_with_distinct_replies(tmp_path):
    import benchmarks.bench_baselines as bench

    items, source = bench.turns(20, tmp_path / "no-xpersona-here")
    assert source == "synthetic" and len(items) == 20
    assert all(len(set(i.candidates)) == 20 and i.candidates[i.label] == i.reply for i in items)
