"""The heavy checks of a build folder: Parquet footers and schemas, and ``load_dataset`` of every config
(offline, with a throw-away cache)."""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path

from hub_upload.card_configs import ConfigSpec, FolderError
from hub_upload.local_files import LocalFile


def check_parquet(folder: Path, configs: list[ConfigSpec], by_path: dict[str, LocalFile]) -> None:
    import pyarrow.parquet as pq

    schemas, footers = {}, {}
    for path in sorted(p for p in by_path if p.endswith(".parquet")):
        try:
            meta = pq.read_metadata(by_path[path].abs_path)
        except Exception as exc:  # pyarrow raises several types for corrupt files
            raise FolderError(f"{by_path[path].abs_path}: not a readable Parquet file ({exc})") from None
        footers[path] = meta.num_rows
        schemas[path] = meta.schema.to_arrow_schema().remove_metadata()
    for spec in configs:
        first = None
        for split, paths in spec.files.items():
            spec.rows[split] = sum(footers[p] for p in paths)
            for p in paths:
                if first is None:
                    first = p
                elif not schemas[p].equals(schemas[first]):
                    raise FolderError(
                        f"{folder}/{p}: Parquet schema differs from {first} in config {spec.name!r}"
                    )


@contextlib.contextmanager
def _offline_datasets(progress: bool):
    """Force offline mode for ``datasets``/``huggingface_hub`` while checking local loads."""
    import datasets
    import datasets.config
    import huggingface_hub.constants as hf_constants

    saved = (datasets.config.HF_HUB_OFFLINE, datasets.config.HF_DATASETS_OFFLINE, hf_constants.HF_HUB_OFFLINE)
    bars = datasets.is_progress_bar_enabled()
    datasets.config.HF_HUB_OFFLINE = datasets.config.HF_DATASETS_OFFLINE = hf_constants.HF_HUB_OFFLINE = True
    if not progress:
        datasets.disable_progress_bars()
    try:
        yield
    finally:
        datasets.config.HF_HUB_OFFLINE, datasets.config.HF_DATASETS_OFFLINE, hf_constants.HF_HUB_OFFLINE = (
            saved
        )
        if bars:
            datasets.enable_progress_bars()


def check_loads(folder: Path, configs: list[ConfigSpec], full: bool = False, progress: bool = False) -> None:
    """``load_dataset(folder, config)`` for every config: streaming (first row of every split), or with
    ``full`` a complete load into a temporary cache whose row counts must match the Parquet footers."""
    import datasets

    with tempfile.TemporaryDirectory(prefix="moud-upload-check-") as cache, _offline_datasets(progress):
        for spec in configs:
            try:
                if full:
                    ds = datasets.load_dataset(str(folder), spec.name, cache_dir=cache)
                    for split, expected in spec.rows.items():
                        if split not in ds or ds[split].num_rows != expected:
                            got = ds[split].num_rows if split in ds else "no split"
                            raise FolderError(
                                f"{folder}: config {spec.name!r} split {split!r} loads {got} rows, "
                                f"Parquet files hold {expected}"
                            )
                else:
                    ds = datasets.load_dataset(str(folder), spec.name, cache_dir=cache, streaming=True)
                    for split in spec.splits:
                        if split not in ds:
                            raise FolderError(
                                f"{folder}: config {spec.name!r} has no split {split!r} when loaded"
                            )
                        next(iter(ds[split]), None)
            except FolderError:
                raise
            except Exception as exc:
                msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                raise FolderError(f"{folder}: load_dataset(..., {spec.name!r}) fails: {msg}") from None
