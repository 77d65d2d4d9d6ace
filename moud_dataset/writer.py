"""Pass 2: write one language's rows to Parquet, sorted by id, streaming in bounded row groups.

Rows are re-read by byte offset from the shards (index from ``shards.scan_language``, lines from
``moud_core.row_source.read_lines``) and parsed by Arrow's JSON reader straight into the fixed schema;
nothing larger than one row group is in memory.
Writer options are fixed so identical inputs give byte-identical files.
"""

from __future__ import annotations

import io
import math
from contextlib import ExitStack
from pathlib import Path

import pyarrow as pa
import pyarrow.json as pj
import pyarrow.parquet as pq

from moud_core.dataset_layout import data_file_name
from moud_core.errors import MoudError
from moud_core.row_source import read_lines
from moud_core.splits import SPLITS
from moud_dataset.features import arrow_schema
from moud_dataset.shards import LanguageScan

WRITER_OPTIONS = dict(
    compression="zstd",
    compression_level=3,
    use_dictionary=True,
    write_statistics=True,
    version="2.6",
    data_page_version="1.0",
)


def write_language(scan: LanguageScan, lang_dir: Path, rows_per_file: int, row_group_rows: int) -> dict:
    """Write data/<lang>/<split>-NNNNN-of-NNNNN.parquet; return {split: {"num_bytes", "files", "bytes"}}."""
    schema = arrow_schema()
    parse = pj.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore")
    lang_dir.mkdir(parents=True, exist_ok=True)
    out: dict[str, dict] = {}
    with ExitStack() as stack:
        handles = [stack.enter_context(open(f, "rb")) for f in scan.files]
        for split in SPLITS:
            entries = sorted(scan.index[split])
            stats = {"num_bytes": 0, "files": [], "download_bytes": 0}
            out[split] = stats
            if not entries:
                continue
            total = math.ceil(len(entries) / rows_per_file)
            for k in range(total):
                path = lang_dir / data_file_name(split, k, total)
                chunk = entries[k * rows_per_file : (k + 1) * rows_per_file]
                with pq.ParquetWriter(path, schema, **WRITER_OPTIONS) as writer:
                    for start in range(0, len(chunk), row_group_rows):
                        batch = chunk[start : start + row_group_rows]
                        try:
                            table = _parse(read_lines(handles, batch), parse, schema)
                        except pa.ArrowException:
                            _raise_for_bad_line(scan, handles, batch, parse, schema)
                            raise
                        writer.write_table(table, row_group_size=row_group_rows)
                        stats["num_bytes"] += table.nbytes
                stats["files"].append(path.name)
                stats["download_bytes"] += path.stat().st_size
    return out


def _parse(buf: bytes, parse: pj.ParseOptions, schema: pa.Schema) -> pa.Table:
    read = pj.ReadOptions(use_threads=False, block_size=len(buf) + 1)
    return pj.read_json(io.BytesIO(buf), parse_options=parse, read_options=read).cast(schema)


def _raise_for_bad_line(scan: LanguageScan, handles, entries, parse, schema) -> None:
    """A row passed validation but does not fit the Parquet schema (e.g. an integer beyond int64)."""
    for entry in entries:
        try:
            _parse(read_lines(handles, [entry]), parse, schema)
        except pa.ArrowException as exc:
            detail = str(exc).splitlines()[0]
            raise MoudError(
                f"{scan.files[entry[1]]}:{entry[2]}: does not fit the dataset schema ({detail})"
            ) from None
