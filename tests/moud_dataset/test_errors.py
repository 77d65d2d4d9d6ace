"""Bad shards: every problem reported as file:line: field, exit 2, nothing written."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import moud_cli
from tests import ROOT
from tests.moud_dataset.helpers import make_shards


@pytest.fixture()
def corrupt_run(tmp_path):
    rows = make_shards(tmp_path / "run", ("fr", "zh", "ar"), rows=12, shards=2)
    fr = tmp_path / "run" / "shards" / "fr" / "shard-00001.jsonl"
    lines = fr.read_text(encoding="utf-8").splitlines()
    lines[1] = '{"id": "fr-0000007", "language": "fr",'  # line 2: bad JSON
    bad = dict(rows["fr"][8])
    del bad["common_ground"]
    lines[2] = json.dumps(bad, ensure_ascii=False)  # line 3: missing field
    dup = dict(rows["fr"][0])
    lines[3] = json.dumps(dup, ensure_ascii=False)  # line 4: duplicate id
    fr.write_text("\n".join(lines) + "\n", encoding="utf-8")
    zh = tmp_path / "run" / "shards" / "zh" / "shard-00000.jsonl"
    zlines = zh.read_text(encoding="utf-8").splitlines()
    wrong = json.loads(zlines[4])
    wrong["language"] = "ja"  # line 5: wrong language
    wrong["metadata"]["lid_scores"] = ["high"]  # line 5: wrong element type
    zlines[4] = json.dumps(wrong, ensure_ascii=False)
    cats = json.loads(zlines[5])
    cats["metadata"]["persona_a_categories"] = [1, 2]  # line 6: wrong element type
    zlines[5] = json.dumps(cats, ensure_ascii=False)
    zh.write_text("\n".join(zlines) + "\n", encoding="utf-8")
    return tmp_path / "run", fr, zh


def test_check_reports_every_bad_row_with_file_and_line(corrupt_run, capsys):
    run, fr, zh = corrupt_run
    assert moud_cli.main(["build", "--shards", str(run), "--check", "--workers", "1"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert f"{fr}:2: invalid JSON" in "\n".join(err)
    assert f"{fr}:3: common_ground: missing" in err
    assert any(e.startswith(f"{fr}:4: id: duplicate 'fr-0000000'") for e in err)
    assert any(e.startswith(f"{zh}:5: language: expected 'zh'") for e in err)
    assert f"{zh}:5: metadata.lid_scores: expected a list of numbers" in err
    assert f"{zh}:6: metadata.persona_a_categories: expected a list of strings" in err
    assert err[-1] == "moud build: 6 problem(s) found"
    assert err[:-1] == sorted(err[:-1], key=lambda e: (e.split(":")[0], int(e.split(":")[1])))


def test_build_with_bad_rows_writes_nothing(corrupt_run, tmp_path):
    run, fr, _ = corrupt_run
    out = tmp_path / "moud"
    proc = subprocess.run(
        [sys.executable, "-m", "moud_cli", "build", "--shards", str(run), "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    err = proc.stderr.strip()
    assert len(err.splitlines()) == 1 and f"{fr}:2: invalid JSON" in err and "nothing written" in err
    assert "and 5 more problem(s): `moud build --check` lists them all" in err
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".moud.")]


def test_existing_dataset_is_kept_when_a_rebuild_fails(corrupt_run, tmp_path):
    run, fr, _ = corrupt_run
    out = tmp_path / "moud"
    assert (
        moud_cli.main(
            [
                "build",
                "--shards",
                str(run),
                "--out",
                str(out),
                "--languages",
                "ar",
                "--workers",
                "1",
                "--quiet",
            ]
        )
        == 0
    )
    before = sorted(p.relative_to(out) for p in out.rglob("*"))
    assert moud_cli.main(["build", "--shards", str(run), "--out", str(out), "--workers", "1", "--quiet"]) == 2
    assert sorted(p.relative_to(out) for p in out.rglob("*")) == before


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--shards", "{missing}", "--out", "{out}"], "no such folder"),
        (["--shards", "{run}", "--out", "{out}", "--languages", "de"], "no shards for language(s) de"),
        (["--shards", "{run}", "--out", "{out}", "--languages", "xx"], "unknown language code 'xx'"),
        (["--shards", "{run}", "--out", "{out}", "--split-ratios", "0.9,0.2,0.1"], "--split-ratios"),
        (["--shards", "{run}"], "--out: required unless --check"),
    ],
)
def test_bad_options_are_one_line_errors(corrupt_run, tmp_path, capsys, argv, message):
    run, _, _ = corrupt_run
    fill = {"missing": str(tmp_path / "nope"), "out": str(tmp_path / "o"), "run": str(run)}
    assert moud_cli.main(["build", *(a.format(**fill) for a in argv)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]
    assert not (tmp_path / "o").exists()


def test_unknown_language_folder_is_an_error(tmp_path, capsys):
    make_shards(tmp_path / "run", ("fr",), rows=3, shards=1)
    (tmp_path / "run" / "shards" / "klingon").mkdir()
    (tmp_path / "run" / "shards" / "klingon" / "shard-00000.jsonl").write_text("{}\n")
    assert moud_cli.main(["build", "--shards", str(tmp_path / "run"), "--check"]) == 2
    err = capsys.readouterr().err
    assert "shards/klingon: folder name 'klingon' is not a language code of the registry" in err


def test_row_that_does_not_fit_parquet_is_reported_with_file_and_line(tmp_path, capsys):
    rows = make_shards(tmp_path / "run", ("fr",), rows=5, shards=1)
    shard = tmp_path / "run" / "shards" / "fr" / "shard-00000.jsonl"
    rows["fr"][3]["metadata"]["seed"] = 2**70  # a valid JSON integer, too big for int64
    shard.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows["fr"]), encoding="utf-8")
    out = tmp_path / "moud"
    assert (
        moud_cli.main(["build", "--shards", str(tmp_path / "run"), "--out", str(out), "--workers", "1"]) == 2
    )
    err = capsys.readouterr().err
    assert f"{shard}:4: does not fit the dataset schema" in err
    assert not out.exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".moud.")]
