"""`datasets.Features` for a MOUD row, derived from moud_core/schema.py (the one row format).

Python types in ``schema.ROW_FIELDS`` / ``schema.METADATA_FIELDS`` map to Arrow types; list fields take
their element type from ``schema.LIST_ELEMENTS``. Adding a field to schema.py without a mapping fails at
import, so the two cannot drift apart silently.
"""

from __future__ import annotations

import datasets
import pyarrow as pa

from moud_core import schema

SCALARS = {str: "string", int: "int64", float: "float64", bool: "bool"}


def _element(typ):
    """A list element: a plain Value, or a struct of plain Values (``schema.LIST_ELEMENTS``)."""
    if isinstance(typ, dict):
        return {name: datasets.Value(SCALARS[t]) for name, t in typ.items()}
    return datasets.Value(SCALARS[typ])


# Element type of every list-valued field, as schema.LIST_ELEMENTS states it.
LIST_ITEMS: dict[str, object] = {path: _element(typ) for path, typ in schema.LIST_ELEMENTS.items()}


def _sampling_feature() -> dict:
    step = {name: datasets.Value(SCALARS[typ]) for name, typ in schema.SAMPLING_FIELDS.items()}
    return {s: dict(step) for s in schema.STEPS}


def _step_attempts_feature() -> dict:
    return {s: datasets.Value("int64") for s in schema.STEPS}


# Dict-valued fields and how to build their struct.
STRUCTS = {"metadata.sampling": _sampling_feature, "metadata.step_attempts": _step_attempts_feature}


def _feature(path: str, typ):
    if typ in SCALARS:
        return datasets.Value(SCALARS[typ])
    if typ is list:
        if path not in LIST_ITEMS:
            raise TypeError(f"moud_dataset.features: list field {path!r} has no element type in LIST_ITEMS")
        return datasets.List(LIST_ITEMS[path])
    if typ is dict:
        if path == "metadata":
            return {name: _feature(f"metadata.{name}", t) for name, t in schema.METADATA_FIELDS.items()}
        if path not in STRUCTS:
            raise TypeError(f"moud_dataset.features: dict field {path!r} has no struct in STRUCTS")
        return STRUCTS[path]()
    raise TypeError(f"moud_dataset.features: field {path!r} has unsupported type {typ!r}")


def make_features() -> datasets.Features:
    """Features in schema.ROW_FIELDS order (also the Parquet column order)."""
    return datasets.Features({name: _feature(name, typ) for name, typ in schema.ROW_FIELDS.items()})


FEATURES = make_features()


def arrow_schema() -> pa.Schema:
    """The Parquet/Arrow schema, carrying the `huggingface` metadata so `datasets` restores FEATURES."""
    return FEATURES.arrow_schema


def encode_row(row: dict) -> dict:
    """Keep only the schema's fields (extra keys in a shard row are dropped), encoded for Arrow."""
    return FEATURES.encode_example(row)
