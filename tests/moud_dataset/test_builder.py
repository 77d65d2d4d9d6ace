"""MoudBuilder instantiated directly on shards (datasets >= 4 has no loading scripts)."""

from __future__ import annotations

import datasets
import pytest

import moud_dataset
from moud_core.errors import MoudError
from moud_dataset.loader import MoudBuilder, MoudConfig
from tests.moud_dataset.helpers import isolate_hf_cache, make_shards, normalize, split_of


@pytest.fixture(autouse=True)
def _tmp_hf_cache(tmp_path, monkeypatch):
    isolate_hf_cache(tmp_path, monkeypatch)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    base = tmp_path_factory.mktemp("builder")
    rows = make_shards(base / "run", ("fr", "zh", "ar"), rows=30, shards=2)
    return base, rows


def test_configs_cover_registry_and_all():
    names = [c.name for c in MoudBuilder.BUILDER_CONFIGS]
    assert names[0] == "all" and "zh" in names and "yo" in names and len(names) == 30
    assert isinstance(MoudBuilder.BUILDER_CONFIGS[1], MoudConfig)


def test_download_and_prepare_into_tmp_cache(run):
    base, rows = run
    builder = MoudBuilder(config_name="zh", data_dir=str(base / "run"), cache_dir=str(base / "cache"))
    builder.download_and_prepare()
    ds = builder.as_dataset()
    assert builder.info.features == moud_dataset.features.FEATURES
    for split in ds:
        expected = sorted(
            (normalize(r) for r in rows["zh"] if split_of(rows["zh"])[r["id"]] == split),
            key=lambda r: r["id"],
        )
        assert list(ds[split]) == expected
    assert sum(len(ds[s]) for s in ds) == 30


def test_all_config_streaming_and_custom_ratios(run):
    base, rows = run
    builder = MoudBuilder(
        config_name="all",
        data_dir=str(base / "run" / "shards"),
        split_ratios=(0.5, 0.5, 0.0),
        seed=1,
        cache_dir=str(base / "cache"),
    )
    stream = builder.as_streaming_dataset()
    assert set(stream) == {"train", "validation"}
    got = {r["id"]: s for s in stream for r in stream[s]}
    want = split_of(rows, 1, (0.5, 0.5, 0.0))
    assert got == want


def test_helper_reads_a_run_folder_through_the_builder(run):
    base, rows = run
    ds = moud_dataset.load("fr", data_dir=base / "run", cache_dir=str(base / "cache-helper"))
    assert isinstance(ds, datasets.DatasetDict)
    assert sorted(r["id"] for s in ds for r in ds[s]) == [r["id"] for r in rows["fr"]]


def test_new_shards_invalidate_the_cache_and_bad_rows_raise(tmp_path):
    make_shards(tmp_path / "run", ("ar",), rows=6, shards=1)
    first = MoudBuilder(config_name="ar", data_dir=str(tmp_path / "run"), cache_dir=str(tmp_path / "c"))
    first.download_and_prepare()
    shard = tmp_path / "run" / "shards" / "ar" / "shard-00000.jsonl"
    shard.write_text(shard.read_text(encoding="utf-8") + '{"id": 1}\n', encoding="utf-8")
    second = MoudBuilder(config_name="ar", data_dir=str(tmp_path / "run"), cache_dir=str(tmp_path / "c"))
    assert second.cache_dir != first.cache_dir
    with pytest.raises(MoudError, match=r"9 invalid row.*shard-00000.jsonl:7: id: expected string"):
        second.download_and_prepare()
