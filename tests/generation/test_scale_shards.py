"""Sharded runs (--num-shards/--shard-index) in one shared folder or separate folders, and `moud merge`."""

from __future__ import annotations

import json

import pytest

import moud_cli
from generation.merge import merge
from generation.testing.crowdworker import ScriptedCrowdworker
from generation.testing.fake_openai import FakeOpenAIServer
from generation.units import plan_units, select_units
from tests.generation.helpers import read_rows, without_timings
from tests.generation.scale_helpers import SMALL, cli, leftovers, popen, shard_files


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A reference run, 3 workers sharing one folder (2 of them concurrent processes) and 3 workers in
    separate folders, all against one loopback server."""
    base = tmp_path_factory.mktemp("scale")
    with FakeOpenAIServer(ScriptedCrowdworker(malformed_rate=0.1), model="m", log_requests=False) as server:
        url = ["--base-url", server.base_url]
        assert moud_cli.main(["generate", "--out", str(base / "ref"), *url, *SMALL]) == 0
        shared = base / "shared"
        procs = [
            popen("generate", "--out", shared, *url, *SMALL, "--num-shards", 3, "--shard-index", i)
            for i in (0, 1)
        ]
        for p in procs:
            _, err = p.communicate(timeout=300)
            assert p.returncode == 0, err
        assert (
            moud_cli.main(
                ["generate", "--out", str(shared), *url, *SMALL, "--num-shards", "3", "--shard-index", "2"]
            )
            == 0
        )
        for i in range(3):
            assert (
                moud_cli.main(
                    [
                        "generate",
                        "--out",
                        str(base / f"part-{i}"),
                        *url,
                        *SMALL,
                        "--num-shards",
                        "3",
                        "--shard-index",
                        str(i),
                    ]
                )
                == 0
            )
        assert (
            moud_cli.main(
                [
                    "generate",
                    "--out",
                    str(base / "seed1"),
                    *url,
                    *SMALL,
                    "--seed",
                    "1",
                    "--num-shards",
                    "3",
                    "--shard-index",
                    "2",
                ]
            )
            == 0
        )
    return base


def test_partition_is_deterministic_disjoint_and_complete():
    units = plan_units(["fr", "zh", "ja"], 23, 4)
    parts = [select_units(units, 4, i) for i in range(4)]
    assert parts == [select_units(units, 4, i) for i in range(4)]
    flat = [u for p in parts for u in p]
    assert sorted(flat) == sorted(units) and len(flat) == len(set(flat))
    assert all(len(p) in (4, 5) for p in parts)  # 18 units over 4 workers: balanced


def test_workers_sharing_a_folder_keep_their_own_manifests(runs):
    shared = runs / "shared"
    assert not (shared / "manifest.json").exists()
    manifests = [json.loads((shared / f"manifest-{i:05d}.json").read_text()) for i in range(3)]
    assert [m["worker"]["shard_index"] for m in manifests] == [0, 1, 2]
    assert all(m["status"] == "complete" and m["worker"]["units"] == 2 for m in manifests)
    assert len({m["fingerprint"] for m in manifests}) == 1
    assert sorted(p.name for p in shared.glob("cache-*.sqlite")) == [
        f"cache-{i:05d}.sqlite" for i in range(3)
    ]
    assert shard_files(shared) == shard_files(runs / "ref") and not leftovers(shared)
    assert without_timings(read_rows(shared)) == without_timings(read_rows(runs / "ref"))


def test_merge_separate_folders_equals_unsharded_run(runs, tmp_path):
    out = tmp_path / "merged"
    assert (
        moud_cli.main(
            ["merge", "--inputs", *(str(runs / f"part-{i}") for i in range(3)), "--out", str(out), "--quiet"]
        )
        == 0
    )
    assert without_timings(read_rows(out)) == without_timings(read_rows(runs / "ref"))
    assert read_rows(out, "failures") == read_rows(runs / "ref", "failures")
    manifest = json.loads((out / "manifest.json").read_text())
    ref_manifest = json.loads((runs / "ref" / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["fingerprint"] == ref_manifest["fingerprint"]
    assert manifest["languages"] == ref_manifest["languages"]
    # the merged folder is a run folder: resuming generation there has nothing left to do
    proc = cli("merge", "--inputs", runs / "shared", "--out", tmp_path / "merged-shared", "--quiet")
    assert "merged" in proc.stderr and "complete" in proc.stderr
    assert without_timings(read_rows(tmp_path / "merged-shared")) == without_timings(read_rows(out))


def test_merge_refuses_different_configs_naming_both_folders(runs, tmp_path):
    proc = cli(
        "merge",
        "--inputs",
        runs / "part-0",
        runs / "part-1",
        runs / "seed1",
        "--out",
        tmp_path / "m",
        check=False,
    )
    assert proc.returncode == 2
    line = proc.stderr.strip()
    assert len(line.splitlines()) == 1 and "different configs" in line
    assert str(runs / "part-0") in line and str(runs / "seed1") in line
    assert not (tmp_path / "m").exists() and not list(tmp_path.iterdir())


def test_merge_refuses_duplicate_units_and_ids(runs, tmp_path):
    import shutil

    with pytest.raises(Exception, match="duplicate work unit"):
        merge([runs / "part-0", runs / "part-0"], tmp_path / "m", progress=False)
    # the same dialogues under another shard name: caught by id
    copy = tmp_path / "copy"
    (copy / "shards" / "fr").mkdir(parents=True)
    shutil.copy(runs / "part-1" / "manifest-00001.json", copy / "manifest-00001.json")
    src = next(f for f in sorted((runs / "part-1" / "shards").rglob("shard-*.jsonl")) if f.stat().st_size)
    shutil.copy(src, copy / "shards" / "fr" / "shard-09999.jsonl")
    rc = moud_cli.main(
        [
            "merge",
            "--inputs",
            str(runs / "part-0"),
            str(runs / "part-1"),
            str(runs / "part-2"),
            str(copy),
            "--out",
            str(tmp_path / "m"),
            "--quiet",
        ]
    )
    assert rc == 2 and not (tmp_path / "m").exists()
    with pytest.raises(Exception, match=r"shard-09999.jsonl:1: duplicate id"):
        merge([runs / "part-0", runs / "part-1", runs / "part-2", copy], tmp_path / "m", progress=False)


def test_merge_reports_missing_units(runs, tmp_path, capsys):
    rc = moud_cli.main(
        [
            "merge",
            "--inputs",
            str(runs / "part-0"),
            str(runs / "part-2"),
            "--out",
            str(tmp_path / "m"),
            "--quiet",
        ]
    )
    err = capsys.readouterr().err
    assert rc == 2 and "2 of 6 work units missing" in err and "--allow-incomplete" in err
    missing = select_units(plan_units(["fr", "zh"], 6, 2), 3, 1)
    assert all(f"{u.language}/{u.name}" in err for u in missing)
    assert not (tmp_path / "m").exists()
    rc = moud_cli.main(
        [
            "merge",
            "--inputs",
            str(runs / "part-0"),
            str(runs / "part-2"),
            "--out",
            str(tmp_path / "m"),
            "--quiet",
            "--allow-incomplete",
        ]
    )
    manifest = json.loads((tmp_path / "m" / "manifest.json").read_text())
    assert rc == 0 and manifest["status"] == "partial"
    assert manifest["missing_units"] == [f"{u.language}/{u.name}" for u in missing]


def test_overwrite_in_a_shared_folder_only_touches_the_workers_own_units(runs, tmp_path):
    import shutil

    shared = tmp_path / "shared"
    shutil.copytree(runs / "shared", shared)
    before = {p: p.stat().st_mtime_ns for p in (shared / "shards").rglob("*.jsonl")}
    mine = {f"{u.language}/{u.name}" for u in select_units(plan_units(["fr", "zh"], 6, 2), 3, 1)}
    with FakeOpenAIServer(ScriptedCrowdworker(malformed_rate=0.1), model="m", log_requests=False) as server:
        assert (
            moud_cli.main(
                [
                    "generate",
                    "--out",
                    str(shared),
                    "--base-url",
                    server.base_url,
                    *SMALL,
                    "--num-shards",
                    "3",
                    "--shard-index",
                    "1",
                    "--overwrite",
                ]
            )
            == 0
        )
    for p, mtime in before.items():
        rel = f"{p.parent.name}/{p.name}"
        assert (p.stat().st_mtime_ns != mtime) == (rel in mine), rel
    assert (shared / "manifest-00000.json").exists() and (shared / "cache-00000.sqlite").exists()
    assert without_timings(read_rows(shared)) == without_timings(read_rows(runs / "ref"))


def test_merge_help_has_an_example():
    proc = cli("merge", "--help")
    assert "examples:" in proc.stdout and "--inputs" in proc.stdout
