"""End to end through the CLI: moud train -> moud evaluate (every metric), re-scoring, matrix, errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import moud_cli
from tests import ROOT
from tests.baselines.helpers import make_tiny_bert, write_moud_shards, write_xpersona_fr_zh


@pytest.fixture(scope="module")
def setup(tmp_path_factory, tiny_bloom):
    tmp = tmp_path_factory.mktemp("bl-cli")
    xp = tmp / "xp"
    write_xpersona_fr_zh(xp)
    run = write_moud_shards(tmp / "moudrun", n_dialogues=8)
    cfg = tmp / "cfg.yaml"
    cfg.write_text(
        f"model: {tiny_bloom}\ntrain: [xpersona:{xp}, moud:{run}@train]\nlanguages: [fr]\n"
        "max_length: 64\nmax_reply_tokens: 16\nbatch_size: 2\ngrad_accum: 1\nmax_steps: 2\n"
        "max_instances: 4\nsave_steps: 100\n",
        encoding="utf-8",
    )
    rc = moud_cli.main(["train", "--config", str(cfg), "--out", str(tmp / "model"), "--quiet"])
    assert rc == 0
    return {"tmp": tmp, "xp": xp, "run": run, "model": tmp / "model", "bert": make_tiny_bert(tmp / "bert")}


def test_train_writes_model_and_summary(setup):
    summary = json.loads((setup["model"] / "train_summary.json").read_text())
    assert summary["steps"] == 2 and summary["languages"] == ["fr"]
    assert summary["config"]["max_length"] == 64  # YAML config applied
    assert (setup["model"] / "mc_head.safetensors").is_file()


def test_evaluate_produces_every_metric_and_rescoring_is_identical(setup):
    out = setup["tmp"] / "eval"
    args = [
        "evaluate",
        "--model",
        str(setup["model"]),
        "--test",
        f"xpersona:{setup['xp']}",
        "--languages",
        "fr,zh",
        "--num-candidates",
        "10",
        "--max-new-tokens",
        "6",
        "--bertscore-model",
        str(setup["bert"]),
        "--bertscore-layer",
        "2",
        "--out",
        str(out),
        "--quiet",
    ]
    assert moud_cli.main(args) == 0
    res = json.loads((out / "results.json").read_text())["languages"]
    for lang in ("fr", "zh"):
        r = res[lang]
        assert r["turns"] == 12 and r["candidates"] == 10 and r["generated"] == 12
        for m in ("hits@1", "ppl", "bpb", "rouge_l", "bertscore_f1"):
            assert r[m] == r[m], m  # not NaN
        assert 0 <= r["hits@1"] <= 1 and r["ppl"] > 1 and r["bpb"] > 0
    assert "| zh | 12 |" in (out / "results.md").read_text()
    assert (out / "results.png").stat().st_size > 0
    cands = out / "candidates.jsonl"
    assert len(cands.read_text().splitlines()) == 24
    # re-scoring the saved candidates gives the same ranking metrics
    out2 = setup["tmp"] / "eval2"
    assert (
        moud_cli.main(
            [
                "evaluate",
                "--model",
                str(setup["model"]),
                "--candidates",
                str(cands),
                "--no-generate",
                "--out",
                str(out2),
                "--quiet",
            ]
        )
        == 0
    )
    r2 = json.loads((out2 / "results.json").read_text())["languages"]
    for lang in ("fr", "zh"):
        for m in ("hits@1", "ppl", "bpb"):
            assert r2[lang][m] == pytest.approx(res[lang][m], rel=1e-5)
    assert "rouge_l" not in r2["fr"]


def test_matrix_writes_paper_table(setup):
    out = setup["tmp"] / "matrix"
    mx = setup["tmp"] / "matrix.yaml"
    mx.write_text(
        json.dumps(
            {
                "models": {"mix": str(setup["model"]), "mix2": str(setup["model"])},
                "tests": {
                    "xpersona": f"xpersona:{setup['xp']}@test",
                    "moud": {"type": "moud", "path": str(setup["run"]), "split": "train"},
                },
                "languages": ["fr", "zh"],
                "num_candidates": 4,
                "rank_by": "lm",
                "max_turns": 3,
                "max_new_tokens": 4,
                "no_bertscore": True,
            }
        ),
        encoding="utf-8",
    )
    assert moud_cli.main(["evaluate", "--matrix", str(mx), "--out", str(out), "--quiet"]) == 0
    md = (out / "matrix.md").read_text()
    assert "| train \\ test | xpersona/fr | xpersona/zh |" in md and "| mix2 |" in md and "## ROUGE-L" in md
    table = json.loads((out / "matrix.json").read_text())["results"]
    assert table["mix"] == table["mix2"]  # same model, same saved candidates -> same numbers
    assert (out / "candidates" / "moud.jsonl").is_file() and (out / "matrix.png").stat().st_size > 0
    for model in ("mix", "mix2"):  # per-turn records: <out>/<model>/<test>/<language>.jsonl
        for test in ("xpersona", "moud"):
            for lang in ("fr", "zh"):
                lines = (out / model / test / f"{lang}.jsonl").read_text().splitlines()
                assert len(lines) == table[model][test][lang]["turns"] == 3
    assert "| *chance* | 25.00 |" in md


def test_cli_errors_and_help_as_subprocess(setup, tmp_path):
    env_cmd = [sys.executable, "-m", "moud_cli"]
    bad = subprocess.run(
        env_cmd
        + [
            "evaluate",
            "--model",
            str(tmp_path / "missing"),
            "--test",
            f"xpersona:{setup['xp']}",
            "--no-bertscore",
            "--out",
            str(tmp_path / "o"),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert bad.returncode == 2
    assert bad.stderr.strip().splitlines()[-1].startswith("moud evaluate: error: model path")
    assert not (tmp_path / "o").exists()
    assert (
        moud_cli.main(
            [
                "evaluate",
                "--model",
                str(setup["model"]),
                "--test",
                f"xpersona:{setup['xp']}",
                "--languages",
                "ko",
                "--no-bertscore",
                "--out",
                str(tmp_path / "o2"),
            ]
        )
        == 2
    )
    help_ = subprocess.run(
        [sys.executable, "-m", "moud_cli", "train", "--help"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert help_.returncode == 0 and "example:" in help_.stdout and "--lora" in help_.stdout
