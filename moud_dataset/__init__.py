"""MOUD dataset: Features schema, builder, Parquet export and dataset card (``moud build``)."""

from __future__ import annotations

from pathlib import Path


def load(language: str = "all", data_dir: str | Path = "moud", **kwargs):
    """Load one config of a MOUD dataset.

    ``data_dir`` is a folder built by ``moud build`` or a Hub repo id ("org/moud"): this is
    ``datasets.load_dataset(data_dir, language, **kwargs)``. A generation run folder or shards/
    folder (no dataset card) is read through ``MoudBuilder`` instead. ``kwargs`` go to
    ``load_dataset`` (``split=``, ``streaming=True``, ``cache_dir=`` ...).
    """
    import datasets

    path = Path(data_dir)
    if path.is_dir() and not (path / "README.md").is_file():
        from moud_dataset.loader import MoudBuilder

        streaming = kwargs.pop("streaming", False)
        split = kwargs.pop("split", None)
        builder = MoudBuilder(
            config_name=language, data_dir=str(path), cache_dir=kwargs.pop("cache_dir", None), **kwargs
        )
        if streaming:
            return builder.as_streaming_dataset(split=split)
        builder.download_and_prepare()
        return builder.as_dataset(split=split)
    return datasets.load_dataset(str(data_dir), language, **kwargs)
