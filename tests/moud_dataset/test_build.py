"""`moud build` end to end: shards (fr, zh, ar, hi) -> Parquet folder -> load_dataset, card, determinism."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import datasets
import pyarrow.parquet as pq
import pytest
import yaml

import moud_cli
import moud_dataset
from moud_core.splits import SPLITS
from moud_dataset.card import MARKER
from tests import ROOT
from tests.moud_dataset.helpers import (
    isolate_hf_cache,
    make_shards,
    normalize,
    split_of,
    tree_bytes,
    write_filter_stats,
)

LANGS = ("fr", "zh", "ar", "hi")
ROWS = 60


@pytest.fixture(autouse=True)
def _tmp_hf_cache(tmp_path, monkeypatch):
    isolate_hf_cache(tmp_path, monkeypatch)


def _build(shards: Path, out: Path, *options: str, workers: int = 1) -> int:
    """``moud build --quiet`` of ``shards`` into ``out`` with ``options``; its exit status."""
    argv = ["build", "--shards", str(shards), "--out", str(out), *options]
    return moud_cli.main([*argv, "--workers", str(workers), "--quiet"])


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A run folder with shards + filter_stats.json, built once (multi-process, files rotated every 20
    rows)."""
    base = tmp_path_factory.mktemp("build")
    rows = make_shards(base / "run", LANGS, rows=ROWS, shards=2)
    write_filter_stats(base / "run", rows)
    out = base / "moud"
    rc = _build(base / "run", out, "--rows-per-file", "20", workers=2)
    assert rc == 0
    return base, rows, out


def _card(out: Path) -> dict:
    text = (out / "README.md").read_text(encoding="utf-8")
    assert text.startswith("---\n")
    return yaml.safe_load(text.split("---\n", 2)[1])


def test_layout_and_rotation(built):
    _, rows, out = built
    for lang in LANGS:
        names = sorted(p.name for p in (out / "data" / lang).iterdir())
        train = [n for n in names if n.startswith("train-")]
        n_train = sum(s == "train" for s in split_of(rows[lang]).values())
        total = -(-n_train // 20)
        assert train == [f"train-{k:05d}-of-{total:05d}.parquet" for k in range(total)]
        assert sum(pq.ParquetFile(out / "data" / lang / n).metadata.num_rows for n in train) == n_train
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".moud.")]  # no temp folders left


def test_every_config_loads_with_rows_equal_to_shards(built, tmp_path):
    _, rows, out = built
    for config in (*LANGS, "all"):
        ds = datasets.load_dataset(str(out), config, cache_dir=str(tmp_path / "cache"))
        expected = [normalize(r) for lang in LANGS for r in rows[lang] if config in ("all", lang)]
        got = [r for split in ds for r in ds[split]]
        assert sorted(got, key=lambda r: r["id"]) == sorted(expected, key=lambda r: r["id"])
        for split in ds:
            ids = ds[split]["id"]
            if config != "all":
                assert ids == sorted(ids)  # sorted by id within each language/split
            assert all(split_of(rows)[i] == split for i in ds[split]["id"])


def test_streaming_matches_and_parent_folder_name_works(built, tmp_path, monkeypatch):
    base, _, out = built
    monkeypatch.chdir(base)
    local = datasets.load_dataset("moud", "zh", cache_dir=str(tmp_path / "cache"))
    stream = datasets.load_dataset("moud", "zh", streaming=True)
    for split in local:
        assert list(stream[split]) == list(local[split])
    helper = moud_dataset.load("zh", data_dir=out, split="train", cache_dir=str(tmp_path / "cache2"))
    assert helper["id"] == local["train"]["id"]


def test_split_groups_never_cross_splits(built, tmp_path):
    _, rows, out = built
    ds = datasets.load_dataset(str(out), "all", cache_dir=str(tmp_path / "cache"))
    where: dict[str, set] = {}
    for split in ds:
        for g in ds[split]["split_group"]:
            where.setdefault(g, set()).add(split)
    assert where and all(len(s) == 1 for s in where.values())
    assert sum(len(r) for r in rows.values()) == sum(len(ds[s]) for s in ds)
    shared = [g for g in where if sum(r["split_group"] == g for lang in LANGS for r in rows[lang]) > 1]
    assert shared  # the fixture really has groups with several rows


def test_card_yaml_lists_every_config_and_counts(built):
    _, rows, out = built
    card = _card(out)
    names = [c["config_name"] for c in card["configs"]]
    assert names == ["all", *sorted(LANGS)]
    assert card["configs"][0]["default"] is True
    assert card["language"] == sorted(LANGS)
    assert card["license"] == "cc-by-4.0" and card["task_categories"] == ["text-generation"]
    assert card["size_categories"] == ["n<1K"] and card["multilinguality"] == "multilingual"
    infos = {i["config_name"]: i for i in card["dataset_info"]}
    assert set(infos) == set(names)
    for lang in LANGS:
        counts = {s: sum(x == s for x in split_of(rows[lang]).values()) for s in SPLITS}
        assert {s["name"]: s["num_examples"] for s in infos[lang]["splits"]} == {
            s: n for s, n in counts.items() if n
        }
    assert sum(s["num_examples"] for s in infos["all"]["splits"]) == ROWS * len(LANGS)
    body = (out / "README.md").read_text(encoding="utf-8")
    assert MARKER in body and "## Filtering" in body and "dropped: lid" in body
    assert "model-x" in body and "moud-prompts-v1" in body and "Hindi (हिन्दी)" in body
    assert "`making_plans`" in body and "## Citation" in body


def test_rebuild_is_byte_identical_and_adding_languages_equals_scratch(built):
    base, _, out = built
    again = base / "again"
    assert _build(base / "run" / "shards", again, "--languages", "fr,zh", "--rows-per-file", "20") == 0
    assert sorted(p.name for p in (again / "data").iterdir()) == ["fr", "zh"]
    # Now all languages into the same folder: identical to the from-scratch build (card included).
    assert _build(base / "run", again, "--rows-per-file", "20") == 0
    assert tree_bytes(again) == tree_bytes(out)


def test_refuses_to_overwrite_a_foreign_folder(built, capsys):
    base, _, _ = built
    foreign = base / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    assert moud_cli.main(["build", "--shards", str(base / "run"), "--out", str(foreign), "--quiet"]) == 2
    assert "refusing to overwrite" in capsys.readouterr().err
    assert [p.name for p in foreign.iterdir()] == ["notes.txt"]


def test_split_ratios_and_seed_options(built, tmp_path):
    base, rows, _ = built
    out = tmp_path / "ratios"
    assert _build(base / "run", out, "--languages", "ar", "--split-ratios", "0.5,0.5,0", "--seed", "3") == 0
    assert sorted(p.name.split("-")[0] for p in (out / "data" / "ar").iterdir()) == ["train", "validation"]
    n_val = sum(s == "validation" for s in split_of(rows["ar"], 3, (0.5, 0.5, 0.0)).values())
    assert (
        pq.ParquetFile(out / "data" / "ar" / "validation-00000-of-00001.parquet").metadata.num_rows == n_val
    )
    assert "0.5/0.5/0, seed 3" in (out / "README.md").read_text(encoding="utf-8")


def test_warns_on_an_unfiltered_run_and_on_a_missing_split(built, tmp_path, capsys):
    """One stderr line each (issue #24): rows that skipped `moud filter`; a language without validation or
    test rows, whose load_dataset(..., split="validation") would raise."""
    base, _, _ = built
    assert _build(base / "run", tmp_path / "filtered", "--languages", "fr") == 0
    assert "not filtered" not in capsys.readouterr().err
    make_shards(tmp_path / "raw", ("zh",), rows=3, shards=1)
    assert _build(tmp_path / "raw", tmp_path / "moud") == 0
    warnings = [x for x in capsys.readouterr().err.splitlines() if x.startswith("moud build: warning:")]
    assert len(warnings) == 2
    assert f"{tmp_path / 'raw'} was not filtered" in warnings[0] and "moud filter" in warnings[0]
    assert "language 'zh' has no validation" in warnings[1] and "3 dialogue(s)" in warnings[1]
    assert "split='validation') will fail" in warnings[1] and "--split-ratios" in warnings[1]


def test_cli_subprocess_help_and_check(built):
    base, _, _ = built
    help_ = subprocess.run(
        [sys.executable, "-m", "moud_cli", "build", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "--split-ratios" in help_ and "examples:" in help_
    proc = subprocess.run(
        [sys.executable, "-m", "moud_cli", "build", "--shards", str(base / "run"), "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert "ok: 240 valid rows" in proc.stdout and "hi" in proc.stdout
