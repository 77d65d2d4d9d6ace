"""Features schema and split assignment: derived from moud_core/schema.py, deterministic splits."""

from __future__ import annotations

from collections import Counter

import pyarrow as pa
import pytest

from moud_core import schema
from moud_core.errors import ConfigError
from moud_core.schema import example_row
from moud_core.splits import assign_split, parse_ratios
from moud_dataset import features as feat
from moud_dataset.card import card_text, column_paths


def test_example_row_encodes_and_round_trips_through_arrow():
    row = example_row("zh", 3)
    row["metadata"]["lid_scores"] = [0.5, 1]
    encoded = feat.encode_row(row)
    table = pa.Table.from_pylist([encoded], schema=feat.arrow_schema())
    back = table.to_pylist()[0]
    assert back["turns"] == row["turns"]
    assert back["metadata"]["lid_scores"] == [0.5, 1.0]
    assert back["metadata"]["sampling"]["dialogue"] == row["metadata"]["sampling"]["dialogue"]
    assert feat.FEATURES.decode_example(encoded)["persona_a"] == row["persona_a"]


def test_features_follow_schema_module():
    assert list(feat.FEATURES) == list(schema.ROW_FIELDS)
    assert list(feat.FEATURES["metadata"]) == list(schema.METADATA_FIELDS)
    for step in schema.STEPS:
        assert list(feat.FEATURES["metadata"]["sampling"][step]) == list(schema.SAMPLING_FIELDS)
    assert feat.FEATURES["metadata"]["seed"].dtype == "int64"
    assert feat.FEATURES["metadata"]["generation_seconds"].dtype == "float64"
    assert feat.arrow_schema().metadata[b"huggingface"]  # datasets restores Features from the Parquet files


def test_new_schema_field_without_mapping_fails_loudly(monkeypatch):
    monkeypatch.setitem(schema.METADATA_FIELDS, "new_list_field", list)
    with pytest.raises(TypeError, match="new_list_field"):
        feat.make_features()
    monkeypatch.setitem(schema.METADATA_FIELDS, "new_list_field", int)
    assert feat.make_features()["metadata"]["new_list_field"].dtype == "int64"


def test_card_describes_every_column():
    assert set(column_paths()) <= set(card_text()["fields"])


def test_parse_ratios():
    assert parse_ratios("0.8,0.1,0.1") == (0.8, 0.1, 0.1)
    for bad in ("0.9,0.1", "0.5,0.5,0.5", "a,b,c", "-0.1,0.6,0.5"):
        with pytest.raises(ConfigError, match="split-ratios"):
            parse_ratios(bad)


def test_assign_split_is_deterministic_and_follows_ratios():
    groups = [f"g{i}" for i in range(20000)]
    first = [assign_split(g, 7, (0.8, 0.1, 0.1)) for g in groups]
    assert first == [assign_split(g, 7, (0.8, 0.1, 0.1)) for g in groups]
    counts = Counter(first)
    assert abs(counts["train"] / 20000 - 0.8) < 0.02 and abs(counts["test"] / 20000 - 0.1) < 0.02
    assert first != [assign_split(g, 8, (0.8, 0.1, 0.1)) for g in groups]  # the seed matters
    assert {assign_split(g, 0, (0.5, 0.5, 0.0)) for g in groups} == {"train", "validation"}
    assert {assign_split(g, 0, (1.0, 0.0, 0.0)) for g in groups} == {"train"}
