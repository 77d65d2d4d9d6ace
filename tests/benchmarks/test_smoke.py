"""Every benchmark script runs at smoke size (``python -m benchmarks.NAME --tiny``) and writes its JSON
result, so a schema or API change that breaks one fails here. Scripts are found by listing benchmarks/*.py:
a new one is picked up by itself; the modules that are material, not scripts, are listed in MATERIAL."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from tests import ROOT
from tests.xpersona_sample import write_xpersona_sample

BENCHMARKS = ROOT / "benchmarks"
MATERIAL = {
    "__init__",
    "harness",
    "probe",
    "corruptions",
    "bench_servers",
    "baselines_scoring",
    "baselines_training",
    "tiny_models",
}
SCRIPTS = sorted(p.stem for p in BENCHMARKS.glob("*.py") if p.stem not in MATERIAL)
# The reasons a script may say "skipped" for at --tiny (something optional missing). Every script runs at
# --tiny with what the test environment has, so none is allowed now.
ALLOWED_SKIPS: dict[str, set[str]] = {}
TIMEOUT_S = 120


def test_scripts_and_material_are_listed():
    assert {"bench_build", "bench_filters", "upload_bench", "filters_acceptance"} <= set(SCRIPTS)
    assert sorted(MATERIAL) == sorted(p.stem for p in BENCHMARKS.glob("*.py") if p.stem in MATERIAL)


@pytest.mark.parametrize("name", sorted(p.stem for p in BENCHMARKS.glob("*.py")))
def test_no_sys_path_edits_nor_test_imports(name):
    source = (BENCHMARKS / f"{name}.py").read_text(encoding="utf-8")
    assert "sys.path" not in source
    assert not re.search(r"^\s*(from|import)\s+tests\b", source, re.M)


@pytest.fixture(scope="module")
def xpersona(tmp_path_factory):
    """The small XPersona sample the tests make (not ../shared: the smoke size must not depend on it)."""
    return write_xpersona_sample(tmp_path_factory.mktemp("xpersona"))


@pytest.mark.parametrize("name", SCRIPTS)
def test_runs_at_tiny_size(name, tmp_path, xpersona):
    out = tmp_path / "result.json"
    env = {**os.environ, "MOUD_XPERSONA_DIR": str(xpersona), "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-m", f"benchmarks.{name}", "--tiny", "--json", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["benchmark"] == name and doc["tiny"] is True and doc["rounds"] == 1
    if doc["skipped"] is not None:
        assert doc["skipped"]["reason"] in ALLOWED_SKIPS.get(name, set()), doc["skipped"]
        assert f"skipped: {doc['skipped']['why']}" in proc.stdout
    else:
        assert doc["results"]
