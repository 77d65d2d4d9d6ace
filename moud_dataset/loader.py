"""`MoudBuilder`: a `datasets` builder that reads generation shards directly.

`datasets` >= 4 has no loading scripts, so the builder is instantiated directly::

    from moud_dataset.loader import MoudBuilder
    builder = MoudBuilder(config_name="fr", data_dir="runs/filtered", cache_dir="/tmp/hf")
    builder.download_and_prepare()
    ds = builder.as_dataset()                  # DatasetDict: train / validation / test

The published dataset is the Parquet folder written by ``moud build`` (see export.py); this builder gives
the same rows and splits straight from shards, e.g. to inspect a run before building it.
"""

from __future__ import annotations

import hashlib
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import datasets
from datasets.builder import Key

from moud_core.errors import MoudError
from moud_core.languages import DEFAULT_LANGUAGES
from moud_core.row_source import read_rows
from moud_core.splits import DEFAULT_RATIOS, SPLITS, parse_ratios
from moud_dataset.card import ALL, card_text
from moud_dataset.features import FEATURES, encode_row
from moud_dataset.shards import language_files, open_shards, scan_language


def shards_fingerprint(data_dir) -> str | None:
    """Hash of every shard file's path, size and mtime under data_dir (None when it has no shards)."""
    root = Path(data_dir)
    files = sorted(root.rglob("*.jsonl")) if root.is_dir() else []
    if not files:
        return None
    h = hashlib.sha256()
    for f in files:
        st = f.stat()
        h.update(f"{f.relative_to(root)}\x1f{st.st_size}\x1f{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:16]


@dataclass
class MoudConfig(datasets.BuilderConfig):
    """BuilderConfig for MOUD.

    Args:
        languages (`tuple[str]`, *optional*):
            Registry codes this config reads. `None` (the `all` config): every language present in the
            shards folder.
        split_ratios (`tuple[float, float, float]`, defaults to `(0.9, 0.05, 0.05)`):
            Train / validation / test shares; rows are assigned per `split_group` by a hash with `seed`.
        seed (`int`, defaults to `0`):
            Split assignment seed (the same seed as `moud build --seed` gives the same splits).

    `data_dir` (passed to the builder) is a generation run folder or its `shards/` folder.
    """

    languages: tuple[str, ...] | None = None
    split_ratios: tuple[float, float, float] = DEFAULT_RATIOS
    seed: int = 0

    def __post_init__(self):
        super().__post_init__()
        self.split_ratios = parse_ratios(self.split_ratios)


class MoudBuilder(datasets.GeneratorBasedBuilder):
    """One config per registry language plus `all` (the default), read from `shards/<lang>/*.jsonl`."""

    BUILDER_CONFIG_CLASS = MoudConfig
    BUILDER_CONFIGS = [MoudConfig(name=ALL, description="every language present")] + [
        MoudConfig(name=code, languages=(code,), description=f"MOUD dialogues in {code}")
        for code in DEFAULT_LANGUAGES
    ]
    DEFAULT_CONFIG_NAME = ALL
    VERSION = datasets.Version("1.0.0")

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("dataset_name", "moud")
        if kwargs.get("hash") is None and kwargs.get("data_dir"):
            kwargs["hash"] = shards_fingerprint(kwargs["data_dir"])  # new/changed shards -> fresh cache
        super().__init__(*args, **kwargs)

    def _info(self) -> datasets.DatasetInfo:
        text = card_text()
        return datasets.DatasetInfo(
            description=text["summary"], features=FEATURES, citation=text["citation"], license="cc-by-4.0"
        )

    def _split_generators(self, dl_manager):
        """Validate every row up front (all problems counted, first one shown) and index it by split;
        splits with no rows are left out."""
        if not self.config.data_dir:
            raise MoudError("MoudBuilder: data_dir: expected a generation run folder or its shards/ folder")
        languages = list(self.config.languages) if self.config.languages else None
        found = language_files(open_shards(self.config.data_dir, languages, flag="data_dir"))
        scans = [
            scan_language(lang, files, self.config.seed, self.config.split_ratios)
            for lang, files in found.items()
        ]
        errors = [e for scan in scans for e in scan.errors]
        if errors:
            raise MoudError(
                f"{len(errors)} invalid row problem(s) in the shards "
                f"(run `moud build --check` for all); first: {errors[0]}"
            )
        return [
            datasets.SplitGenerator(
                name=split,
                gen_kwargs={
                    "shards": [(scan.files, sorted(scan.index[split])) for scan in scans if scan.index[split]]
                },
            )
            for split in SPLITS
            if any(scan.index[split] for scan in scans)
        ]

    def _generate_examples(self, shards: list[tuple[list[str], list[tuple]]]):
        """Rows of one split, language by language, sorted by id (the order `moud build` writes), re-read
        by byte offset from the index of pass 1 (``moud_core.row_source.read_rows``): rows must be sorted
        across files, so they cannot simply be streamed in file order, and the index is what the build
        writes from, so the builder and `moud build` give the same rows."""
        for shard_idx, (files, entries) in enumerate(shards):
            with ExitStack() as stack:
                handles = [stack.enter_context(open(f, "rb")) for f in files]
                for row_idx, row in enumerate(read_rows(handles, entries)):
                    yield Key(shard_idx, row_idx), encode_row(row)
