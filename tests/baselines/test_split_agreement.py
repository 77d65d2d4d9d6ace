"""One split function: a dialogue is in the same split in the built dataset and in baselines trained from
the shards (before, baselines used an unseeded 80/10/10 hash and `moud build` a seeded 90/5/5 one)."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest

import moud_cli
from baselines.data import load_instances
from moud_core.errors import ConfigError
from moud_core.splits import SPLITS
from tests.moud_dataset.helpers import make_shards


@pytest.mark.parametrize("seed, ratios", [(0, None), (5, "0.6,0.2,0.2")])
def test_built_splits_and_baseline_splits_agree(tmp_path, seed, ratios):
    run = tmp_path / "run"
    make_shards(run, ("fr", "zh"), rows=240, shards=3)
    out = tmp_path / "moud"
    extra = ["--split-ratios", ratios] if ratios else []
    assert (
        moud_cli.main(
            [
                "build",
                "--shards",
                str(run),
                "--out",
                str(out),
                "--seed",
                str(seed),
                "--workers",
                "1",
                "--quiet",
                *extra,
            ]
        )
        == 0
    )
    source = {"type": "moud", "path": str(run), "split_seed": seed}
    if ratios:
        source["split_ratios"] = ratios
    for lang in ("fr", "zh"):
        built = {
            split: {
                r
                for f in sorted((out / "data" / lang).glob(f"{split}-*.parquet"))
                for r in pq.read_table(f, columns=["id"]).column("id").to_pylist()
            }
            for split in SPLITS
        }
        assert all(built[s] for s in SPLITS), {s: len(v) for s, v in built.items()}  # every split is used
        trained = {split: {i.dialogue_id for i in load_instances(source, [lang], split)} for split in SPLITS}
        for split in SPLITS:
            assert trained[split] == built[split], split
        for a in SPLITS:
            for b in SPLITS:
                if a != b:
                    assert not trained[a] & built[b]


def _build(run, out, *extra):
    argv = ["build", "--shards", str(run), "--out", str(out), "--workers", "1", "--quiet", *extra]
    assert moud_cli.main(argv) == 0


def test_build_records_its_split_and_baselines_refuse_another(tmp_path):
    run, out = tmp_path / "run", tmp_path / "moud"
    make_shards(run, ("fr",), rows=60, shards=2)
    _build(run, out, "--seed", "5", "--split-ratios", "0.6,0.2,0.2")
    marker = json.loads((out / "moud_build.json").read_text(encoding="utf-8"))
    assert marker["split"] == {"seed": 5, "ratios": {"train": 0.6, "validation": 0.2, "test": 0.2}}
    with pytest.raises(ConfigError) as exc:  # the defaults (seed 0, 0.9/0.05/0.05) disagree
        load_instances({"type": "moud", "path": str(out)}, ["fr"], "test")
    message = str(exc.value)
    assert "\n" not in message and str(out) in message
    assert "seed 5 and ratios 0.6/0.2/0.2" in message and "seed 0 and ratios 0.9/0.05/0.05" in message
    with pytest.raises(ConfigError, match="seed 5 and ratios 0.6/0.2/0.2.*seed 5 and ratios 0.5/0.3/0.2"):
        load_instances(
            {"type": "moud", "path": str(out), "split_seed": 5, "split_ratios": "0.5,0.3,0.2"}, ["fr"], "test"
        )
    agreeing = {"split_seed": 5, "split_ratios": "0.6,0.2,0.2"}
    for split in SPLITS:  # the build's own settings: the same instances as from the shards
        built = load_instances({"type": "moud", "path": str(out), **agreeing}, ["fr"], split)
        shards = load_instances({"type": "moud", "path": str(run), **agreeing}, ["fr"], split)
        assert built and sorted(built, key=_key) == sorted(shards, key=_key), split


def test_baselines_refuse_a_split_through_the_cli(tiny_bloom, tmp_path, capsys):
    run, out = tmp_path / "run", tmp_path / "moud"
    make_shards(run, ("fr",), rows=30, shards=1)
    _build(run, out, "--seed", "3")
    capsys.readouterr()  # the build's own warnings (an unfiltered run) are not the train command's
    argv = [
        "train",
        "--model",
        str(tiny_bloom),
        "--train",
        f"moud:{out}",
        "--out",
        str(tmp_path / "o"),
        *"--max-steps 2 --batch-size 2 --grad-accum 1 --max-length 64 --quiet".split(),
    ]
    assert moud_cli.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "built with split seed 3" in err and "asks for seed 0" in err


def _key(instance):
    return (instance.dialogue_id, instance.turn)
