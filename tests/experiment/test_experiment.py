"""``moud experiment``: every stage runs into DIR/<stage>/ through the standalone commands' code, a re-run
skips what is unchanged, a changed setting re-runs exactly the stages it reaches, and SIGTERM mid-way then
the same command gives the same results as an uninterrupted run."""

from __future__ import annotations

import hashlib
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq

from moud_experiment.experiment import run_experiment
from tests import ROOT
from tests.experiment.helpers import write_recipe

FRONT_STAGES = ["generate", "filter", "build", "judge", "report", "review", "results"]


def _statuses(result) -> dict[str, str]:
    return {r.name: r.status for r in result.stages}


def _content(out: Path) -> dict[str, str]:
    """A digest of every output that must not depend on timing: built rows (without wall-clock seconds),
    judgments, the review sample, the results table."""
    got = {}
    for f in sorted((out / "build" / "data").rglob("*.parquet")):
        rows = pq.read_table(f).to_pylist()
        for r in rows:
            r["metadata"].pop("generation_seconds", None)
        got[str(f.relative_to(out))] = json.dumps(rows, sort_keys=True, default=str)
    for name in ("judge/judgments.jsonl", "results.json"):
        got[name] = (out / name).read_text(encoding="utf-8")
    got["review"] = json.dumps(sorted(p.name for p in (out / "review").rglob("*")))
    return {k: hashlib.sha256(v.encode()).hexdigest()[:12] for k, v in got.items()}


def test_runs_every_stage_then_skips_what_is_unchanged(tmp_path):
    recipe = write_recipe(tmp_path)
    out = tmp_path / "exp"
    first = run_experiment(recipe, out, quiet=True)
    assert _statuses(first) == {name: "done" for name in FRONT_STAGES}
    for name in ("generate", "filter", "build", "judge", "report", "review"):
        assert (out / name).is_dir() and (out / "logs" / f"{name}.log").is_file()
    card = (out / "README.md").read_text(encoding="utf-8")
    assert "## Judge scores per language" in card and "| fr |" in card
    assert json.loads((out / "results.json").read_text())["records"] == []  # no baselines in this recipe
    before = _content(out)

    again = run_experiment(recipe, out, quiet=True)
    assert set(_statuses(again).values()) == {"unchanged"}
    assert _content(out) == before

    write_recipe(tmp_path, split_seed=1)  # the split changes: build and what reads it, not generation
    changed = _statuses(run_experiment(recipe, out, quiet=True))
    assert [n for n, s in changed.items() if s == "done"] == ["build", "review", "results"]


def test_sigterm_then_the_same_command_gives_the_same_results(tmp_path):
    straight = tmp_path / "straight"
    recipe = write_recipe(tmp_path / "r", dialogues=6)
    run_experiment(recipe, straight, quiet=True)

    out = tmp_path / "interrupted"
    cmd = [sys.executable, "-m", "moud_cli", "experiment", str(recipe), "--out", str(out), "--quiet"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not (out / ".stages" / "filter.json").is_file():  # generate and filter are done; build runs next
        assert proc.poll() is None, proc.stderr.read()
        assert time.monotonic() < deadline
        time.sleep(0.02)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 143, proc.stderr.read()
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp") or "moud-tmp" in p.name]  # no temp left

    resumed = run_experiment(recipe, out, quiet=True)
    statuses = _statuses(resumed)
    assert statuses["generate"] == statuses["filter"] == "unchanged"
    assert _content(out) == _content(straight)
