"""The dataset card's YAML metadata (what the Hub reads): configs per language and ``all``, splits,
sizes, and the card text of ``data/card.yaml``."""

from __future__ import annotations

import functools
from pathlib import Path

from moud_core.dataset_layout import ALL_CONFIG, data_glob
from moud_core.errors import ConfigError
from moud_core.splits import SPLITS
from moud_core.yamlio import load_yaml
from moud_dataset.features import FEATURES

CARD_TEXT = Path(__file__).parent / "data" / "card.yaml"
ALL = ALL_CONFIG
SIZE_BINS = [
    (1_000, "n<1K"),
    (10_000, "1K<n<10K"),
    (100_000, "10K<n<100K"),
    (1_000_000, "100K<n<1M"),
    (10_000_000, "1M<n<10M"),
    (100_000_000, "10M<n<100M"),
]


@functools.lru_cache(maxsize=1)
def card_text() -> dict:
    text = load_yaml(CARD_TEXT)
    missing = sorted(set(column_paths()) - set(text.get("fields", {})))
    if missing:
        raise ConfigError(f"{CARD_TEXT}: fields: no description for {', '.join(missing)}")
    return text


def column_paths() -> list[str]:
    """Top-level columns and metadata.* sub-fields of the Features schema."""
    return [*FEATURES, *(f"metadata.{k}" for k in FEATURES["metadata"])]


def size_category(n: int) -> str:
    return next((label for limit, label in SIZE_BINS if n < limit), "n>1T")


def data_files(config: str, splits: list[str]) -> list[dict]:
    return [{"split": s, "path": data_glob(config, s)} for s in splits]


def _split_infos(summaries: list[dict]) -> tuple[list[dict], int, int]:
    infos = []
    for s in SPLITS:
        n = sum(x["splits"][s]["dialogues"] for x in summaries)
        if n:
            infos.append(
                {
                    "name": s,
                    "num_bytes": sum(x["splits"][s]["num_bytes"] for x in summaries),
                    "num_examples": n,
                }
            )
    download = sum(x["splits"][s]["download_bytes"] for x in summaries for s in SPLITS)
    return infos, download, sum(i["num_bytes"] for i in infos)


def _config_entries(summaries: list[dict]) -> tuple[list[dict], list[dict]]:
    groups = [(ALL, summaries)] + [(x["language"], [x]) for x in summaries]
    configs, infos = [], []
    for name, members in groups:
        split_infos, download, size = _split_infos(members)
        entry = {"config_name": name, "data_files": data_files(name, [i["name"] for i in split_infos])}
        if name == ALL:
            entry["default"] = True
        configs.append(entry)
        infos.append(
            {
                "config_name": name,
                "features": FEATURES._to_yaml_list(),
                "splits": split_infos,
                "download_size": download,
                "dataset_size": size,
            }
        )
    return configs, infos


def card_metadata(summaries: list[dict], license: str) -> dict:
    text = card_text()
    total = sum(x["splits"][s]["dialogues"] for x in summaries for s in SPLITS)
    configs, infos = _config_entries(summaries)
    return {
        "pretty_name": text["pretty_name"],
        "language": [x["language"] for x in summaries],
        "license": license,
        "multilinguality": "multilingual" if len(summaries) > 1 else "monolingual",
        "size_categories": [size_category(total)],
        "source_datasets": ["original"],
        "task_categories": list(text["task_categories"]),
        "task_ids": list(text["task_ids"]),
        "tags": list(text["tags"]),
        "configs": configs,
        "dataset_info": infos,
    }
