"""A `moud build`-shaped folder for tests and benchmarks: data/<lang>/<split>-NNNNN-of-NNNNN.parquet, a card
with its configs and the build marker (tiny rows: id, language, turns)."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

LANGS = ("fr", "ja", "th")
SPLITS = ("train", "validation", "test")


def make_build_folder(
    root: Path, langs=LANGS, rows_per_split: int = 4, shards: dict | None = None, marker: bool = True
) -> Path:
    """Write ``root`` like ``moud build`` does: data/<lang>/<split>-NNNNN-of-NNNNN.parquet + README.md."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    shards = shards or {}
    root.mkdir(parents=True, exist_ok=True)
    for lang in langs:
        for split in SPLITS:
            n = shards.get((lang, split), 1)
            for k in range(n):
                ids = [f"{lang}-{split}-{k}-{i}" for i in range(rows_per_split)]
                table = pa.table(
                    {
                        "id": ids,
                        "language": [lang] * rows_per_split,
                        "turns": [
                            [f"{lang} utterance {i} {j}" for j in range(3)] for i in range(rows_per_split)
                        ],
                    }
                )
                path = root / "data" / lang / f"{split}-{k:05d}-of-{n:05d}.parquet"
                path.parent.mkdir(parents=True, exist_ok=True)
                pq.write_table(table, path)
    configs = [
        {
            "config_name": "all",
            "default": True,
            "data_files": [{"split": s, "path": f"data/*/{s}-*.parquet"} for s in SPLITS],
        }
    ]
    configs += [
        {
            "config_name": lang,
            "data_files": [{"split": s, "path": f"data/{lang}/{s}-*.parquet"} for s in SPLITS],
        }
        for lang in langs
    ]
    meta = {"pretty_name": "MOUD test", "language": list(langs), "license": "cc-by-4.0", "configs": configs}
    (root / "README.md").write_text(
        "---\n" + yaml.safe_dump(meta, sort_keys=False) + "---\n\n# MOUD (test)\n", encoding="utf-8"
    )
    if marker:
        (root / "moud_build.json").write_text(
            json.dumps({"format": "moud-build", "version": 1}), encoding="utf-8"
        )
    return root


def folder_bytes(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}
