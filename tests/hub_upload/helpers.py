"""Test helpers for hub_upload: the environment of a ``moud`` subprocess talking to the stand-in Hub; the
`moud build`-shaped folder and the stand-in Hub itself live in ``hub_upload/testing/`` (benchmarks use them
too)."""

from __future__ import annotations

import os
from pathlib import Path

from hub_upload.testing.build_folder import folder_bytes, make_build_folder
from hub_upload.testing.stand_in_hub import StandInHub
from tests import ROOT

__all__ = ["StandInHub", "folder_bytes", "hub_client_env", "make_build_folder"]


def hub_client_env(tmp_path: Path, **extra: str) -> dict:
    """The environment of a ``moud`` subprocess that talks to a stand-in Hub: no Hugging Face variables of
    this machine, an empty HF home under ``tmp_path``, Hub access on (datasets stays offline), plus
    ``extra`` (``HF_ENDPOINT``, ``HF_TOKEN``)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGING_FACE"))}
    env.update(
        {
            "HF_HOME": str(tmp_path / "hf-home"),
            "HF_HUB_DISABLE_XET": "1",
            "HF_HUB_OFFLINE": "0",
            "TRANSFORMERS_OFFLINE": "0",
            "HF_DATASETS_OFFLINE": "1",
            "PYTHONPATH": str(ROOT),
        }
    )
    env.update(extra)
    return env
