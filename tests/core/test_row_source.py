"""open_rows: one reader for run, filtered, shards and built folders; rows streamed per language and split,
every row checked with the one row check."""

from __future__ import annotations

import json
import shutil

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import moud_cli
from moud_core.errors import ConfigError, MoudError
from moud_core.row_source import BUILT, RUN, SHARDS_ONLY, folder_kind, open_rows
from moud_core.splits import SPLITS
from moud_dataset.features import arrow_schema
from tests.moud_dataset.helpers import make_shards, split_of


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("rows")
    rows = make_shards(root / "run", ("fr", "zh"), rows=60, shards=2)
    argv = ["build", "--shards", str(root / "run"), "--out", str(root / "moud"), "--seed", "2", "--quiet"]
    assert moud_cli.main([*argv, "--workers", "1"]) == 0
    return root, rows


def test_folder_kinds(folders, tmp_path):
    root, _ = folders
    assert folder_kind(root / "run") == RUN and open_rows(root / "run").kind == RUN
    assert folder_kind(root / "run" / "shards") == RUN  # a run folder's shards/ folder
    shutil.copytree(root / "run" / "shards", tmp_path / "loose")
    assert folder_kind(tmp_path / "loose") == SHARDS_ONLY and open_rows(tmp_path / "loose").count("zh") == 60
    assert folder_kind(root / "moud") == BUILT and open_rows(root / "moud").kind == BUILT
    assert folder_kind(tmp_path / "loose" / "fr") is None
    assert open_rows(root / "moud").languages == open_rows(root / "run").languages == ["fr", "zh"]


def test_rows_by_language_and_split_agree_between_shards_and_build(folders):
    root, rows = folders
    for split in SPLITS:
        run = open_rows(root / "run", ["zh"], [split], split_seed=2)
        built = open_rows(root / "moud", ["zh"], [split])
        from_run = sorted((row for _, row in run), key=lambda r: r["id"])
        assert from_run == [row for _, row in built]  # the build writes rows sorted by id
        expected = [r for r in rows["zh"] if split_of(rows["zh"], 2)[r["id"]] == split]
        assert [r["id"] for r in from_run] == sorted(r["id"] for r in expected)
    all_rows = list(open_rows(root / "run"))
    assert [r["language"] for _, r in all_rows] == ["fr"] * 60 + ["zh"] * 60
    assert all_rows[0][0].endswith("shard-00000.jsonl:1")
    assert open_rows(root / "moud").count("fr") == open_rows(root / "run").count("fr") == 60


def test_rows_are_streamed(folders):
    root, _ = folders
    rows = iter(open_rows(root / "moud", ["fr"]))
    where, row = next(rows)
    assert row["language"] == "fr" and ": row 1" in where


def test_bad_requests_are_one_line_errors(folders, tmp_path):
    root, _ = folders
    with pytest.raises(ConfigError, match="no data for language.s. ja"):
        open_rows(root / "moud", ["ja"])
    assert open_rows(root / "moud", ["ja"], required=False).languages == []
    with pytest.raises(ConfigError, match="split 'dev': expected one of train, validation, test"):
        open_rows(root / "run", splits=["dev"])
    with pytest.raises(ConfigError, match="no such folder"):
        open_rows(tmp_path / "missing")


def test_a_bad_parquet_row_is_caught_by_the_row_check(folders, tmp_path):
    root, rows = folders
    bad = json.loads(json.dumps(rows["fr"][0]))
    bad["language"] = "zh"
    (tmp_path / "data" / "fr").mkdir(parents=True)
    table = pa.Table.from_pylist([rows["fr"][1], bad], schema=arrow_schema())
    pq.write_table(table, tmp_path / "data" / "fr" / "train-00000-of-00001.parquet")
    with pytest.raises(MoudError, match=r"train-00000-of-00001.parquet: row 2: language: expected 'fr'"):
        list(open_rows(tmp_path))


def test_build_refuses_a_built_folder_as_input(folders, tmp_path, capsys):
    root, _ = folders
    assert moud_cli.main(["build", "--shards", str(root / "moud"), "--out", str(tmp_path / "o")]) == 2
    assert "is a dataset folder built by `moud build`" in capsys.readouterr().err
