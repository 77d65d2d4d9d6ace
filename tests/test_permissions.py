"""Outputs follow the user's umask (colleagues on a shared cluster can read them when the umask says so):
files 0666 & ~umask, folders 0777 & ~umask, for every file generate, filter, merge and build write."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

import moud_cli
from generation.testing.crowdworker import ScriptedCrowdworker
from generation.testing.fake_openai import FakeOpenAIServer
from tests.cli import generate_args


def _modes(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root.parent)): stat.S_IMODE(p.stat().st_mode) for p in [root, *root.rglob("*")]}


@pytest.mark.parametrize("umask", [0o022, 0o027, 0o077])
def test_outputs_follow_the_umask(tmp_path, umask):
    old = os.umask(umask)
    try:
        with FakeOpenAIServer(ScriptedCrowdworker(), model="m", log_requests=False) as server:
            assert (
                moud_cli.main(
                    generate_args(tmp_path / "run", server.base_url, 4, "fr,zh", "--set", "shard_size=2")
                )
                == 0
            )
        assert (
            moud_cli.main(
                ["merge", "--inputs", str(tmp_path / "run"), "--out", str(tmp_path / "merged"), "--quiet"]
            )
            == 0
        )
        assert (
            moud_cli.main(
                [
                    "filter",
                    "--in",
                    str(tmp_path / "merged"),
                    "--out",
                    str(tmp_path / "filtered"),
                    "--quiet",
                    "--workers",
                    "1",
                ]
            )
            == 0
        )
        assert (
            moud_cli.main(
                [
                    "build",
                    "--shards",
                    str(tmp_path / "filtered"),
                    "--out",
                    str(tmp_path / "moud"),
                    "--quiet",
                    "--workers",
                    "1",
                ]
            )
            == 0
        )
    finally:
        os.umask(old)
    seen = {}
    for name in ("run", "merged", "filtered", "moud"):
        seen.update(_modes(tmp_path / name))
    files = {k: v for k, v in seen.items() if not (tmp_path / k).is_dir()}
    folders = {k: v for k, v in seen.items() if (tmp_path / k).is_dir()}
    assert any(k.endswith(".parquet") for k in files) and any(k.endswith("manifest.json") for k in files)
    assert any(k.endswith("README.md") for k in files) and any(k.endswith("filter_stats.png") for k in files)
    wrong_files = {k: oct(v) for k, v in files.items() if v != 0o666 & ~umask}
    wrong_folders = {k: oct(v) for k, v in folders.items() if v != 0o777 & ~umask}
    assert not wrong_files and not wrong_folders, (wrong_files, wrong_folders)
