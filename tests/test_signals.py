"""SIGTERM (what Slurm and Kubernetes send) and SIGINT stop every long command alike: the workers die with
it, no temp folder is left beside --out, the run folder stays resumable, the exit status is 143 or 130."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from generation.gate_process import can_fork_worker
from generation.testing.crowdworker import ScriptedCrowdworker
from generation.testing.fake_openai import FakeOpenAIServer
from moud_core.jsonl import write_jsonl_atomic
from tests import ROOT
from tests.cli import generate_args
from tests.gates.helpers import make_row
from tests.generation.helpers import slowed
from tests.generation.scale_helpers import popen
from tests.moud_dataset.helpers import make_shards

EXIT = {signal.SIGTERM: 143, signal.SIGINT: 130}


def _wait_for(what: str, predicate, proc: subprocess.Popen, timeout: float = 90.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = predicate()
        if got:
            return got
        if proc.poll() is not None:
            pytest.fail(f"the command ended (exit {proc.returncode}) before {what}: {proc.stderr.read()}")
        time.sleep(0.05)
    proc.kill()
    pytest.fail(f"timed out waiting for {what}")


def _staged(parent: Path, out: Path) -> list[Path]:
    return [p for p in parent.iterdir() if p.name.startswith(f".{out.name}.")]


def _interrupt(proc: subprocess.Popen, sig: int) -> tuple[int, str, list[psutil.Process]]:
    kids = psutil.Process(proc.pid).children(recursive=True)
    proc.send_signal(sig)
    try:
        rc = proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail("the command did not stop within 60 s of the signal")
    _gone, alive = psutil.wait_procs(kids, timeout=15)
    for p in alive:
        p.kill()
    assert not alive, f"worker processes outlived the command: {[p.pid for p in alive]}"
    return rc, proc.stderr.read(), kids


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_filter_stops_its_workers_and_leaves_no_temp_folder(tmp_path, sig):
    run = tmp_path / "run"
    for k in range(40):
        write_jsonl_atomic(
            run / "shards" / "fr" / f"shard-{k:05d}.jsonl",
            [make_row("fr", index=k * 300 + i) for i in range(300)],
        )
    out = tmp_path / "filtered"
    proc = popen("filter", "--in", run, "--out", out, "--workers", "2", "--quiet")
    _wait_for(
        "two workers and a staged folder",
        lambda: len(psutil.Process(proc.pid).children()) >= 2 and _staged(tmp_path, out),
        proc,
    )
    rc, err, kids = _interrupt(proc, sig)
    assert rc == EXIT[sig], err
    assert len(kids) >= 2
    assert "interrupted" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not out.exists() and not _staged(tmp_path, out)


@pytest.mark.parametrize("sig", [signal.SIGTERM])
def test_build_stops_its_workers_and_leaves_no_temp_folder(tmp_path, sig):
    make_shards(tmp_path / "run", ("fr", "zh", "ar", "hi"), rows=6000, shards=6)
    out = tmp_path / "moud"
    proc = popen("build", "--shards", tmp_path / "run", "--out", out, "--workers", "2", "--quiet")
    _wait_for(
        "two workers and a staged folder",
        lambda: len(psutil.Process(proc.pid).children(recursive=True)) >= 2 and _staged(tmp_path, out),
        proc,
    )
    rc, err, _ = _interrupt(proc, sig)
    assert rc == EXIT[sig], err
    assert "Traceback" not in err
    assert not out.exists() and not _staged(tmp_path, out)


def test_generate_interrupted_leaves_a_resumable_run(tmp_path):
    out = tmp_path / "run"
    with FakeOpenAIServer(
        slowed(ScriptedCrowdworker(), 0.05), model="m", log_requests=False, max_seconds=300
    ) as server:
        args = generate_args(out, server.base_url, 12, "fr,zh", "--set", "shard_size=3", "--concurrency", "4")
        proc = popen(*args)
        _wait_for(
            "a written unit", lambda: list((out / "shards").rglob("*.jsonl")) if out.exists() else [], proc
        )
        rc, err, _ = _interrupt(proc, signal.SIGTERM)
        assert rc == 143, err
        manifest = json.loads((out / "manifest.json").read_text())
        assert manifest["status"] == "interrupted"
        assert not list(out.rglob(".*.tmp"))
        done = subprocess.run(
            [sys.executable, "-m", "moud_cli", *map(str, args)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )
    assert done.returncode == 0, done.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    # the gate worker ran (_interrupt checked that no process outlived the interrupted command)
    assert manifest["last_run"]["gate_process"] is can_fork_worker()
    assert len(list((out / "shards").rglob("*.jsonl"))) == 8


def test_a_signal_whose_exception_was_swallowed_commits_nothing_and_sets_the_exit_status(
    tmp_path, monkeypatch, capsys
):
    """Python ignores exceptions raised in some places (fork hooks, __del__, callbacks): the command runs on,
    but no staged output folder is swapped into place after the signal and the signal decides the exit
    status."""
    import os
    import types

    import moud_cli
    from moud_core.atomic import atomic_write_text, staged_folder

    def run(args):
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(1)  # the handler runs here and its exception is swallowed below
        except KeyboardInterrupt:
            pass
        atomic_write_text(tmp_path / "state.json", "{}")  # single files are written whole (run state)
        with staged_folder(tmp_path / "folder") as tmp:
            (tmp / "f").write_text("x")
        return 0

    fake = types.ModuleType("fake_cmd")
    fake.build_parser, fake.run = lambda parser: None, run
    monkeypatch.setitem(sys.modules, "fake_cmd", fake)
    monkeypatch.setitem(moud_cli.COMMANDS, "fake", ("fake_cmd", "a command that swallows its interruption"))
    assert moud_cli.main(["fake"]) == 143
    assert "interrupted by SIGTERM" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.json"]  # no output folder, no temp left
