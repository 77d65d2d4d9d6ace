"""One split function: a dialogue is in the same split in the built dataset and in baselines trained from
the shards (before, baselines used an unseeded 80/10/10 hash and `moud build` a seeded 90/5/5 one)."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest

import moud_cli
from baselines.data import load_instances
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
