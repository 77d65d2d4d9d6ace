"""Shared fixtures. Area-specific helpers live in tests/<package>/helpers.py modules."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests import ROOT

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

XPERSONA_DIR = Path(os.environ.get("MOUD_XPERSONA_DIR", ROOT.parent / "shared" / "data" / "xpersona"))


@pytest.fixture(scope="session")
def xpersona_dir() -> Path:
    """The real XPersona files (../shared/data/xpersona); tests using it skip when absent."""
    if not XPERSONA_DIR.is_dir() or not any(XPERSONA_DIR.glob("*.json")):
        pytest.skip(f"XPersona data not found at {XPERSONA_DIR}")
    return XPERSONA_DIR


@pytest.fixture(scope="session")
def xpersona_sample(tmp_path_factory) -> Path:
    """XPersona validation files in the real layout and names: a small sample made here (fr, it, id, ja, ko,
    zh, en), with the real files of ../shared/data/xpersona added (replacing the sample's) when present."""
    from tests.xpersona_sample import write_xpersona_sample

    return write_xpersona_sample(tmp_path_factory.mktemp("xpersona"), XPERSONA_DIR)


@pytest.fixture(scope="session")
def tiny_llama_chat(tmp_path_factory) -> Path:
    from benchmarks.tiny_models import make_tiny_llama_chat

    return make_tiny_llama_chat(tmp_path_factory.mktemp("tiny-llama-chat"))


@pytest.fixture(scope="session")
def tiny_bloom(tmp_path_factory) -> Path:
    from benchmarks.tiny_models import make_tiny_bloom

    return make_tiny_bloom(tmp_path_factory.mktemp("tiny-bloom"))
