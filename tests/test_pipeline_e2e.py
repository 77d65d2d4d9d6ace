"""The whole pipeline on one small corpus, through the real commands: generate (loopback LLM server)
-> filter -> build -> load_dataset -> stats -> upload to a stand-in Hub -> load from the Hub
copy. Proves the stages agree on formats, not just that each works alone."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import moud_cli
from generation.testing.crowdworker import ScriptedCrowdworker
from generation.testing.fake_openai import FakeOpenAIServer
from tests import ROOT
from tests.generation.helpers import read_rows
from tests.hub_upload.helpers import StandInHub, hub_client_env

LANGS = ("fr", "zh", "ar")
TOKEN = "hf_PipelineStandInToken777"


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    root = tmp_path_factory.mktemp("pipeline")
    with FakeOpenAIServer(ScriptedCrowdworker(malformed_rate=0.1), model="crowd") as server:
        assert (
            moud_cli.main(
                [
                    "generate",
                    "--out",
                    str(root / "run"),
                    "--languages",
                    ",".join(LANGS),
                    "--dialogues",
                    "24",
                    "--model",
                    "crowd",
                    "--base-url",
                    server.base_url,
                    "--quiet",
                    "--set",
                    "shard_size=8",
                ]
            )
            == 0
        )
    assert (
        moud_cli.main(["filter", "--in", str(root / "run"), "--out", str(root / "filtered"), "--quiet"]) == 0
    )
    assert (
        moud_cli.main(
            [
                "build",
                "--shards",
                str(root / "filtered"),
                "--out",
                str(root / "moud"),
                "--quiet",
                "--split-ratios",
                "0.5,0.25,0.25",
            ]
        )
        == 0
    )
    return root


def test_built_dataset_loads_every_config_with_the_filtered_rows(pipeline):
    from datasets import load_dataset

    kept = read_rows(pipeline / "filtered")
    for lang in LANGS:
        ds = load_dataset(str(pipeline / "moud"), lang, cache_dir=str(pipeline / "hf-cache"))
        ids = sorted(i for split in ds.values() for i in split["id"])
        assert ids == sorted(r["id"] for r in kept[lang]) and ids
        row = next(iter(next(iter(ds.values()))))  # any split: splits are by persona group
        assert row["metadata"]["generator_model"] == "crowd" and row["metadata"]["lid_scores"]
    both = load_dataset(str(pipeline / "moud"), "all", cache_dir=str(pipeline / "hf-cache"))
    assert sum(len(s) for s in both.values()) == sum(len(v) for v in kept.values())
    card = (pipeline / "moud" / "README.md").read_text(encoding="utf-8")
    assert "moud-prompts-v1" in card and "crowd" in card


def test_stats_run_on_the_same_shards(pipeline):
    assert (
        moud_cli.main(["stats", "--shards", str(pipeline / "filtered"), "--out", str(pipeline / "stats")])
        == 0
    )
    produced = {p.name for p in (pipeline / "stats").iterdir()}
    assert any(name.endswith(".md") for name in produced) and any(name.endswith(".png") for name in produced)


def test_upload_the_build_to_a_stand_in_hub_and_load_it_back(pipeline, tmp_path):
    with StandInHub({TOKEN: {"name": "alice", "orgs": []}}, max_requests=800, max_seconds=120) as hub:
        env = hub_client_env(tmp_path, HF_ENDPOINT=hub.endpoint, HF_TOKEN=TOKEN)
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "moud_cli",
                "upload",
                "--folder",
                str(pipeline / "moud"),
                "--repo",
                "alice/moud",
                "--quiet",
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert proc.returncode == 0, proc.stderr
        remote = hub.files("alice/moud")
    local = {
        p.relative_to(pipeline / "moud").as_posix(): p.read_bytes()
        for p in (pipeline / "moud").rglob("*")
        if p.is_file()
    }
    assert {k: v for k, v in remote.items() if k in local} == local
    copy = tmp_path / "from-hub"
    for name, data in remote.items():
        (copy / name).parent.mkdir(parents=True, exist_ok=True)
        (copy / name).write_bytes(data)
    from datasets import load_dataset

    zh = load_dataset(str(copy), "zh", cache_dir=str(tmp_path / "cache"))
    assert sum(len(s) for s in zh.values()) == len(read_rows(pipeline / "filtered")["zh"])


def test_manifest_and_filter_stats_agree(pipeline):
    manifest = json.loads((pipeline / "run" / "manifest.json").read_text())
    stats = json.loads((pipeline / "filtered" / "filter_stats.json").read_text())
    for lang in LANGS:
        assert stats["languages"][lang]["input"] == manifest["languages"][lang]["dialogues"]


def test_build_marker_lets_upload_detect_edits(pipeline, tmp_path, capsys):
    import shutil

    marker = json.loads((pipeline / "moud" / "moud_build.json").read_text())
    parquet = sorted((pipeline / "moud" / "data").rglob("*.parquet"))
    assert set(marker["files"]) == {p.relative_to(pipeline / "moud").as_posix() for p in parquet}
    edited = tmp_path / "moud"
    shutil.copytree(pipeline / "moud", edited)
    target = sorted((edited / "data" / "fr").glob("*.parquet"))[0]
    target.write_bytes(target.read_bytes()[:-1] + b"\0")
    code = moud_cli.main(["upload", "--folder", str(edited), "--repo", "alice/moud", "--dry-run"])
    assert code == 2 and "edited after the build" in capsys.readouterr().err
