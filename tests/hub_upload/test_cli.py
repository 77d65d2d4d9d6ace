"""`moud upload` command line: help, errors, and a real upload as a subprocess against the stand-in Hub."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import moud_cli
from tests import ROOT
from tests.hub_upload.helpers import StandInHub, folder_bytes, hub_client_env, make_build_folder

TOKEN = "hf_CliStandInToken55555"


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    return make_build_folder(tmp_path_factory.mktemp("upload-cli") / "moud", langs=("fr", "zh"))


def test_help_has_description_and_example(capsys):
    with pytest.raises(SystemExit) as exc:
        moud_cli.main(["upload", "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "--dry-run" in out and "moud upload --folder runs/moud --repo my-org/moud" in out


def test_invalid_repo_id_one_line_error(built, capsys):
    assert moud_cli.main(["upload", "--folder", str(built), "--repo", "not a repo", "--dry-run"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("moud upload: error: --repo 'not a repo': invalid repo id") and "\n" not in err


def test_dry_run_lists_files(built, capsys):
    assert moud_cli.main(["upload", "--folder", str(built), "--repo", "org/moud", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert (
        "data/zh/test-00000-of-00001.parquet" in out and "total: 8 files" in out and "nothing was sent" in out
    )


def test_subprocess_upload_then_resume(built, tmp_path):
    with StandInHub({TOKEN: {"name": "alice", "orgs": []}}, max_requests=500, max_seconds=90) as hub:
        env = hub_client_env(tmp_path, HF_ENDPOINT=hub.endpoint, HF_TOKEN=TOKEN)
        cmd = [
            sys.executable,
            "-m",
            "moud_cli",
            "upload",
            "--folder",
            str(built),
            "--repo",
            "alice/moud",
            "--message",
            "MOUD v1",
            "--quiet",
        ]
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        assert "verified" in proc.stdout and 'load_dataset("alice/moud", "fr")' in proc.stdout
        assert TOKEN not in proc.stdout + proc.stderr
        remote = hub.files("alice/moud")
        assert all(remote[p] == d for p, d in folder_bytes(built).items())
        assert hub.repos["alice/moud"].commits[-1]["summary"].startswith("MOUD v1")
        puts = len(hub.lfs_puts)
        again = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        assert again.returncode == 0 and "8 unchanged" in again.stdout and len(hub.lfs_puts) == puts
