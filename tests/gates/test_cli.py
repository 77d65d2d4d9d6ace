"""`moud filter` end to end: outputs, --skip-invalid, errors, determinism, subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import moud_cli
from moud_core.jsonl import write_jsonl_atomic
from tests import ROOT
from tests.gates.helpers import TEXTS, make_row, with_turn


@pytest.fixture()
def run_dir(tmp_path) -> Path:
    fr = [make_row("fr", index=i) for i in range(3)]  # 1 and 2 are duplicates of 0
    asides = [
        "Au fait, je m'appelle Paul.",
        "Il pleut.",
        "Mon frère vit à Nantes.",
        "J'ai faim.",
        "Bof.",
        "Vraiment ?",
    ]
    fr[1] = make_row("fr", [f"{t} {a}" for t, a in zip(TEXTS["fr"], asides, strict=True)], 1)
    fr[2] = with_turn(make_row("fr", index=2), 3, "I really love hiking in the mountains with my dog.")
    fr.append(make_row("fr", index=3))  # exact duplicate of fr-0000000
    ja = [
        make_row("ja", index=0),
        with_turn(make_row("ja", index=1), 2, "watashi wa inu wo nihiki katte imasu."),
    ]
    write_jsonl_atomic(tmp_path / "run" / "shards" / "fr" / "shard-00000.jsonl", fr[:2])
    write_jsonl_atomic(tmp_path / "run" / "shards" / "fr" / "shard-00001.jsonl", fr[2:])
    write_jsonl_atomic(tmp_path / "run" / "shards" / "ja" / "shard-00000.jsonl", ja)
    return tmp_path / "run"


def _lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


@pytest.mark.parametrize("workers", [1, 2])
def test_filter_outputs(run_dir, tmp_path, workers, capsys):
    out = tmp_path / f"out{workers}"
    assert moud_cli.main(["filter", "--in", str(run_dir), "--out", str(out), "--workers", str(workers)]) == 0
    stats = json.loads((out / "filter_stats.json").read_text())
    assert stats["languages"]["fr"]["input"] == 4 and stats["languages"]["fr"]["kept"] == 2
    assert stats["languages"]["fr"]["dropped"] == {"lid": 1, "dedup": 1}
    assert stats["languages"]["ja"]["dropped"] == {"script": 1}
    assert "config" in stats and stats["config"]["gates"][0] == "length"
    kept = _lines(out / "shards" / "fr" / "shard-00000.jsonl")
    assert [r["id"] for r in kept] == ["fr-0000000", "fr-0000001"]
    assert all(len(r["metadata"]["lid_scores"]) == len(r["turns"]) for r in kept)
    drops = _lines(out / "drops" / "fr" / "shard-00001.jsonl")
    assert [(d["gate"], d["row"]["id"]) for d in drops] == [("lid", "fr-0000002"), ("dedup", "fr-0000003")]
    assert "duplicate of fr-0000000" in drops[1]["reason"] and drops[0]["scores"]["field"] == "turns[3]"
    assert (out / "filter_stats.png").read_bytes()[:4] == b"\x89PNG"
    table = capsys.readouterr().out
    assert "kept%" in table and "fr" in table


def test_deterministic(run_dir, tmp_path):
    for name in ("a", "b"):
        assert moud_cli.main(["filter", "--in", str(run_dir), "--out", str(tmp_path / name), "--quiet"]) == 0
    for rel in ("shards/fr/shard-00000.jsonl", "drops/fr/shard-00001.jsonl", "filter_stats.json"):
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes()


def test_invalid_lines_error_or_skip(run_dir, tmp_path, capsys):
    shard = run_dir / "shards" / "fr" / "shard-00001.jsonl"
    bad_row = make_row("fr", index=9)
    del bad_row["turns"]
    shard.write_text(shard.read_text() + "{not json\n" + json.dumps(bad_row) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    assert moud_cli.main(["filter", "--in", str(run_dir), "--out", str(out), "--workers", "1"]) == 2
    err = capsys.readouterr().err
    assert f"{shard}:3: invalid JSON" in err and len(err.strip().splitlines()) == 1
    assert not out.exists() and not list(tmp_path.glob(".out.*"))
    assert (
        moud_cli.main(["filter", "--in", str(run_dir), "--out", str(out), "--skip-invalid", "--quiet"]) == 0
    )
    stats = json.loads((out / "filter_stats.json").read_text())["languages"]["fr"]
    assert stats["input"] == 6 and stats["dropped"]["schema"] == 2
    schema = [d for d in _lines(out / "drops" / "fr" / "shard-00001.jsonl") if d["gate"] == "schema"]
    assert {d["reason"].split(": ", 1)[1] for d in schema} >= {"turns: missing"}


def test_bad_arguments(run_dir, tmp_path, capsys):
    assert (
        moud_cli.main(
            [
                "filter",
                "--in",
                str(run_dir),
                "--out",
                str(tmp_path / "o"),
                "--lid-model",
                str(tmp_path / "missing.bin"),
            ]
        )
        == 2
    )
    assert "missing.bin: file not found" in capsys.readouterr().err
    assert moud_cli.main(["filter", "--in", str(tmp_path / "nope"), "--out", str(tmp_path / "o")]) == 2
    assert "no such folder" in capsys.readouterr().err
    assert (
        moud_cli.main(["filter", "--in", str(run_dir), "--out", str(tmp_path / "o"), "--languages", "de"])
        == 2
    )
    assert "no shards for language(s) de" in capsys.readouterr().err
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    assert moud_cli.main(["filter", "--in", str(run_dir), "--out", str(tmp_path / "full")]) == 2
    assert "use --overwrite" in capsys.readouterr().err


def test_subprocess_help_and_run(run_dir, tmp_path):
    helped = subprocess.run(
        [sys.executable, "-m", "moud_cli", "filter", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert helped.returncode == 0 and "example:" in helped.stdout and "--skip-invalid" in helped.stdout
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "moud_cli",
            "filter",
            "--in",
            str(run_dir),
            "--out",
            str(tmp_path / "sp"),
            "--languages",
            "ja",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads((tmp_path / "sp" / "filter_stats.json").read_text())["languages"]["ja"]["kept"] == 1


def test_filter_and_build_treat_a_bom_alike(run_dir, tmp_path):
    """A UTF-8 byte-order mark at the start of a shard is accepted by filter and by build alike."""
    import codecs

    shard = next((run_dir / "shards").rglob("*.jsonl"))
    shard.write_bytes(codecs.BOM_UTF8 + shard.read_bytes())
    assert (
        moud_cli.main(
            ["filter", "--in", str(run_dir), "--out", str(tmp_path / "f"), "--quiet", "--workers", "1"]
        )
        == 0
    )
    assert moud_cli.main(["build", "--shards", str(run_dir), "--check", "--quiet"]) == 0


def test_overwrite_refuses_a_folder_that_filter_did_not_write(run_dir, tmp_path, capsys):
    other = tmp_path / "thesis"
    other.mkdir()
    (other / "chapter1.tex").write_text("precious")
    assert moud_cli.main(["filter", "--in", str(run_dir), "--out", str(other), "--overwrite", "--quiet"]) == 2
    assert "not an output of `moud filter`" in capsys.readouterr().err
    assert (other / "chapter1.tex").read_text() == "precious"
    out = tmp_path / "f"
    assert (
        moud_cli.main(["filter", "--in", str(run_dir), "--out", str(out), "--quiet", "--workers", "1"]) == 0
    )
    assert (
        moud_cli.main(
            ["filter", "--in", str(run_dir), "--out", str(out), "--quiet", "--workers", "1", "--overwrite"]
        )
        == 0
    )


def test_unregistered_language_folder_is_an_error_naming_it(run_dir, tmp_path, capsys):
    # XPersona's "Jp" spelling, and a language added with --languages-file at generation time only
    write_jsonl_atomic(run_dir / "shards" / "jp" / "shard-00000.jsonl", [make_row("ja", index=7)])
    out = tmp_path / "o"
    assert moud_cli.main(["filter", "--in", str(run_dir), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "jp" in err and "not a language code of the registry" in err and len(err.strip().splitlines()) == 1
    assert not out.exists()
    (run_dir / "shards" / "jp" / "shard-00000.jsonl").unlink()
    (run_dir / "shards" / "jp").rmdir()
    extra = make_row("fr", index=8)
    extra["language"] = "xx"
    write_jsonl_atomic(run_dir / "shards" / "xx" / "shard-00000.jsonl", [extra])
    assert moud_cli.main(["filter", "--in", str(run_dir), "--out", str(out), "--quiet"]) == 2
    assert "'xx' is not a language code of the registry" in capsys.readouterr().err
    langs = tmp_path / "langs.yaml"
    langs.write_text(
        "languages:\n  - {code: xx, name: Xish, native_name: Xish, script: Latn, lid_label: fr, "
        "segmentation: words, resource: low}\n"
    )
    assert (
        moud_cli.main(
            ["filter", "--in", str(run_dir), "--out", str(out), "--quiet", "--languages-file", str(langs)]
        )
        == 0
    )
    assert json.loads((out / "filter_stats.json").read_text())["languages"]["xx"]["input"] == 1
