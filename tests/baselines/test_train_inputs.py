"""moud train's inputs: a missing model fails at once (no Hub retries), bad config values and bad rows
are one line and exit 2, with nothing written."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from moud_core.errors import ConfigError
from tests.baselines.helpers import write_moud_shards, write_xpersona
from tests.cli import moud

TRAIN = "--max-steps 2 --batch-size 2 --grad-accum 1 --max-length 64 --quiet".split()


@pytest.fixture(scope="module")
def xp(tmp_path_factory):
    folder = tmp_path_factory.mktemp("xp")
    write_xpersona(folder, "Fr", "train_corrected", n_dialogues=6)
    return folder


def _one_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    return err


def test_missing_model_fails_at_once_without_the_hub(xp, tmp_path):
    (tmp_path / "runs").mkdir()
    env = {k: v for k, v in os.environ.items() if not k.endswith("_OFFLINE")}  # as a user's shell would be
    env["HF_HOME"] = str(tmp_path / "hf-home")  # an empty cache
    for name in ("runs/missing-model", str(tmp_path / "nowhere"), "./missing", "no-org/no-such-model"):
        start = time.monotonic()
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "moud_cli",
                "train",
                "--model",
                name,
                "--train",
                f"xpersona:{xp}",
                "--out",
                str(tmp_path / "o"),
            ],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        took = time.monotonic() - start
        lines = proc.stderr.strip().splitlines()
        assert proc.returncode == 2 and len(lines) == 1, proc.stderr
        assert lines[0].startswith("moud train: error: model") and name in lines[0], lines[0]
        assert took < 30, (name, took)  # no Hub retries (they took about 54 s)
        assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    "line, expected",
    [
        ("max_steps: ten", "cfg.yaml: field 'max_steps': expected a number, got 'ten'"),
        ("max_steps: 2.5", "cfg.yaml: field 'max_steps': expected an integer >= -1, got 2.5"),
        ("batch_size: 0", "cfg.yaml: field 'batch_size': expected an integer >= 1, got 0"),
        ("balance: some", "cfg.yaml: field 'balance': expected one of none, cap, upsample, got 'some'"),
        (
            "languages: 5",
            "cfg.yaml: field 'languages': expected comma-separated language codes, a list of them or 'all', "
            "got 5",
        ),
        ("train: xpersona:x", "cfg.yaml: field 'train': expected a list, got 'xpersona:x'"),
        ("max_stepz: 3", "cfg.yaml: unknown field 'max_stepz'"),
        ("- 1", "cfg.yaml: expected a mapping of training options"),
    ],
)
def test_bad_training_config_is_one_line(xp, tiny_bloom, tmp_path, capsys, line, expected):
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(
        f"model: {tiny_bloom}\n{line}\n" if not line.startswith("-") else line + "\n", encoding="utf-8"
    )
    args = ["train", "--config", str(cfg), "--out", str(tmp_path / "o")]
    if "train:" not in line:
        args += ["--train", f"xpersona:{xp}"]
    assert moud(*args) == 2
    assert expected in _one_line(capsys)
    assert not (tmp_path / "o").exists()


def test_yaml_exponent_without_a_dot_is_a_number(xp, tiny_bloom, tmp_path):
    from baselines.train import resolve_config

    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(f"model: {tiny_bloom}\nlearning_rate: 1e-4\ntrain: [xpersona:{xp}]\nout: o\n")
    assert resolve_config(str(cfg), {})["learning_rate"] == 1e-4


def test_row_whose_turns_is_a_string_is_one_line(tiny_bloom, tmp_path, capsys):
    run = write_moud_shards(tmp_path / "run", n_dialogues=8)
    shard = run / "shards" / "fr" / "shard-00000.jsonl"
    rows = [json.loads(x) for x in shard.read_text(encoding="utf-8").splitlines()]
    rows[2]["turns"] = "Salut ! Ça va ?"
    shard.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    assert (
        moud("train", "--model", tiny_bloom, "--train", f"moud:{run}", *TRAIN, "--out", tmp_path / "o") == 2
    )
    assert f"{shard}:3: turns: expected list, got str" in _one_line(capsys)
    assert not (tmp_path / "o").exists()


def test_training_config_is_typed_and_records_the_same_dict(tmp_path):
    from baselines.train import DEFAULTS, TrainSettings, resolve_config

    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(
        "train: [xpersona:x]\nout: o\nlanguages: all\nepochs: 2\nprecision: bf16\n", encoding="utf-8"
    )
    got = resolve_config(str(cfg), {"languages": "fr,ja", "max_steps": 3})
    assert list(got) == list(DEFAULTS) == [f.name for f in TrainSettings.__dataclass_fields__.values()]
    assert got["languages"] == ["fr", "ja"] and got["epochs"] == 2
    assert got["train"] == [f"xpersona:{tmp_path / 'x'}"]  # a config file's paths: relative to its folder
    assert resolve_config(str(cfg), {})["languages"] is None  # 'all': every language of the sources
    with pytest.raises(ConfigError, match=r"^command line: field 'precision': expected one of auto, bf16"):
        resolve_config(str(cfg), {"precision": "fp8"})


def test_a_language_with_one_training_dialogue_is_left_out_with_a_warning(capsys):
    from baselines.instance import Instance
    from baselines.train import _with_distractor_dialogues

    def inst(lang, dialogue, turn):
        return Instance(
            lang, ["Je suis là."], ["Salut"], f"r{dialogue}{turn}", f"{lang}-{dialogue}", turn, "moud"
        )

    instances = [inst("fr", d, t) for d in (1, 2) for t in (1, 3)] + [inst("ja", 1, 1), inst("ja", 1, 3)]
    kept = _with_distractor_dialogues(instances)
    assert {i.language for i in kept} == {"fr"} and len(kept) == 4
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "moud language 'ja' has one training dialogue" in err
