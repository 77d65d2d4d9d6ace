"""The inline gates in a worker process: same rows, failures and rejections as in the event loop's process;
the worker is used when it can be (a fresh ``moud generate`` on 2+ CPUs) and dies with the command."""

from __future__ import annotations

import json
import os

import pytest

from generation.gate_process import can_fork_worker
from generation.testing.crowdworker import ScriptedCrowdworker
from generation.testing.fake_openai import FakeOpenAIServer
from generation.testing.slips import REALISTIC, SlipInjector
from moud_core.runfolder import KINDS
from tests.cli import generate_args
from tests.generation.helpers import read_rows, slowed, without_timings
from tests.generation.scale_helpers import cli

pytestmark = pytest.mark.skipif(not can_fork_worker(), reason="needs fork and 2 CPUs for the gate worker")


def _run_files(run) -> dict[str, dict]:
    """Every record of the run (shards, failures, drops) by kind and language, wall-clock fields removed."""
    return {kind: without_timings(read_rows(run, kind)) for kind in KINDS}


def test_worker_process_gives_the_rows_and_rejections_of_the_in_process_gates(tmp_path):
    slips = SlipInjector(ScriptedCrowdworker(), rates=REALISTIC, seed=3)
    with FakeOpenAIServer(slips, model="m", log_requests=False, max_seconds=300) as server:
        runs = {}
        for mode in ("true", "false"):
            out = tmp_path / f"gate_process_{mode}"
            cli(*generate_args(out, server.base_url, 6, "fr,ja", "--set", f"gate_process={mode}"))
            manifest = json.loads((out / "manifest.json").read_text())
            assert manifest["last_run"]["gate_process"] is (mode == "true")
            runs[mode] = _run_files(out)
    assert runs["true"] == runs["false"]
    # a run with nothing left to make starts no worker
    cli(*generate_args(tmp_path / "gate_process_true", server.base_url, 6, "fr,ja"))
    manifest = json.loads((tmp_path / "gate_process_true" / "manifest.json").read_text())
    assert manifest["last_run"]["gate_process"] is False and manifest["last_run"]["made"] == 0
    rows = [r for rs in runs["true"]["shards"].values() for r in rs]
    assert rows and any(r["metadata"]["rejected_outputs"] for r in rows)  # the gates rejected something


def test_gate_process_off_or_no_second_cpu_checks_in_process(monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0})
    assert not can_fork_worker()


def test_a_dead_gate_worker_stops_the_run_with_one_line_and_a_resumable_folder(tmp_path):
    import time

    import psutil

    from tests.generation.scale_helpers import popen

    out = tmp_path / "run"
    with FakeOpenAIServer(
        slowed(ScriptedCrowdworker(), 0.02), model="m", log_requests=False, max_seconds=300
    ) as server:
        proc = popen(*generate_args(out, server.base_url, 40, "fr", "--concurrency", "8"))
        deadline = time.monotonic() + 60
        kids = []
        while not kids and time.monotonic() < deadline and proc.poll() is None:
            kids = psutil.Process(proc.pid).children()
            time.sleep(0.05)
        assert kids, "no gate worker process appeared"
        time.sleep(0.5)  # the run is under way
        kids[0].kill()
        rc = proc.wait(timeout=60)
        err = proc.stderr.read()
    assert rc == 2, err
    assert "inline gates' worker process died" in err and "Traceback" not in err, err
    assert len(err.strip().splitlines()) == 1, err
    assert json.loads((out / "manifest.json").read_text())["status"] != "complete"
