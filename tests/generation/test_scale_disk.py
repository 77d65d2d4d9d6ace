"""Disk full (ENOSPC) and unwritable output folders: one-line error naming the path, exit 2, the run
stops, and no truncated shard or temporary file is left behind. (Tests run as root, so chmod cannot
block writes: failures are injected by monkeypatching, or a path component is a regular file.)"""

from __future__ import annotations

import errno
import json
import os
import sqlite3

import pytest

import moud_cli
import moud_core.atomic as io_utils
from generation.testing.crowdworker import ScriptedCrowdworker
from generation.testing.fake_openai import FakeOpenAIServer
from moud_core.backends.cache import RequestCache
from tests.generation.scale_helpers import cli, leftovers

ARGS = [
    "--languages",
    "fr,zh",
    "--dialogues",
    "8",
    "--model",
    "m",
    "--quiet",
    "--concurrency",
    "4",
    "--set",
    "shard_size=2",
]


@pytest.fixture()
def server():
    with FakeOpenAIServer(ScriptedCrowdworker(), model="m", log_requests=False) as s:
        yield s


def _one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


@pytest.mark.parametrize("where", ["rename", "write"])
def test_disk_full_while_writing_a_shard(tmp_path, server, monkeypatch, capsys, where):
    out = tmp_path / "run"
    real_replace, real_fsync = os.replace, os.fsync

    def full_replace(src, dst):
        if "/shards/" in str(dst):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_replace(src, dst)

    def full_fsync(fd):
        if "/shards/" in os.readlink(f"/proc/self/fd/{fd}"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_fsync(fd)

    if where == "rename":
        monkeypatch.setattr(io_utils.os, "replace", full_replace)
    else:
        monkeypatch.setattr(io_utils.os, "fsync", full_fsync)
    rc = moud_cli.main(["generate", "--out", str(out), "--base-url", server.base_url, *ARGS])
    line = _one_line(capsys.readouterr().err)
    assert rc == 2
    assert "No space left on device" in line and "disk full" in line
    assert f"{out}/shards/" in line and "shard-0000" in line
    assert not list((out / "shards").rglob("*.jsonl")) and not leftovers(out)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "failed" and "No space left on device" in manifest["error"]
    # with space again, the same command resumes and completes, answering what was sent from the cache
    monkeypatch.undo()
    sent = server.count
    assert moud_cli.main(["generate", "--out", str(out), "--base-url", server.base_url, *ARGS]) == 0
    assert len(list((out / "shards").rglob("*.jsonl"))) == 8
    last = json.loads((out / "manifest.json").read_text())["last_run"]
    assert last["cache_hits"] >= sent - 2 * 4  # only requests in flight when the run stopped are lost
    # the failed run stopped at the first failed shard instead of making every dialogue
    assert sent < last["requests"] / 2


def test_request_cache_on_a_full_disk(tmp_path, server, monkeypatch, capsys):
    def full(self, key, resp):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(RequestCache, "put", full)
    out = tmp_path / "run"
    rc = moud_cli.main(["generate", "--out", str(out), "--base-url", server.base_url, *ARGS])
    line = _one_line(capsys.readouterr().err)
    assert rc == 2 and f"{out}/cache.sqlite" in line and "disk is full" in line
    assert not (out / "shards").exists() and not leftovers(out)


def test_output_path_under_a_regular_file(tmp_path, server):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    proc = cli("generate", "--out", blocker / "run", "--base-url", server.base_url, *ARGS, check=False)
    line = _one_line(proc.stderr)
    assert proc.returncode == 2 and str(blocker) in line and "not a folder" in line
    proc = cli("generate", "--out", blocker, "--base-url", server.base_url, *ARGS, check=False)
    line = _one_line(proc.stderr)
    assert proc.returncode == 2 and str(blocker) in line and "is a file" in line
    assert server.count == 0


def test_shard_folder_blocked_by_a_file_mid_run(tmp_path, server, capsys):
    out = tmp_path / "run"
    (out / "shards").mkdir(parents=True)
    (out / "shards" / "zh").write_text("in the way")  # fr shards can be written, zh cannot
    (out / "manifest.json").write_text('{"fingerprint": "x", "fingerprints": []}')
    rc = moud_cli.main(
        ["generate", "--out", str(out), "--base-url", server.base_url, *ARGS, "--allow-mixed-configs"]
    )
    line = _one_line(capsys.readouterr().err)
    assert rc == 2 and f"{out}/shards/zh" in line
    assert not leftovers(out)


def test_merge_to_an_unwritable_place(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    run = tmp_path / "run"
    run.mkdir()
    (run / "manifest.json").write_text(
        '{"fingerprint": "abc", "config": {"languages": ["fr"], '
        '"dialogues_per_language": 0, "shard_size": 1}}'
    )
    proc = cli("merge", "--inputs", run, "--out", blocker / "merged", check=False)
    line = _one_line(proc.stderr)
    assert proc.returncode == 2 and str(blocker) in line
