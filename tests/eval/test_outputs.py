"""judge / report / stats: a run in which nothing was judged, bad inputs and bad output folders as one
line and exit 2 with nothing written, outputs that follow the umask, and a report replacing an earlier one
whole."""

from __future__ import annotations

import json
import os

import pytest

from generation.testing.fake_openai import FakeOpenAIServer, Reply
from tests.bad_outputs import BAD_OUT_KINDS, bad_out, snapshot, umask, wrong_modes
from tests.cli import moud
from tests.eval.helpers import ScriptedJudge, make_row, write_shards


def _rec(item, model="model-a", status="ok", scores=None, lang="fr"):
    return {
        "item_id": item,
        "language": lang,
        "generator_model": model,
        "kind": "dialogue",
        "status": status,
        "scores": scores if status == "ok" else None,
        "repeat": 0,
        "judge_model": "j",
        "failure_reason": "" if status == "ok" else "backend_error",
    }


def _judgments(folder, records):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "judgments.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return folder


def _one_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    return err


@pytest.fixture()
def shards(tmp_path):
    return write_shards(tmp_path / "run", [make_row("fr", 0), make_row("zh", 0, model="model-b")])


def _judge(shards, out, server, *extra):
    return moud(
        "judge",
        "--shards",
        shards,
        "--out",
        out,
        "--judge-model",
        server.model,
        "--base-url",
        server.base_url,
        "--max-retries",
        "0",
        "--max-attempts",
        "1",
        "--quiet",
        "--kinds",
        "dialogue",
        *extra,
    )


def test_judge_run_where_every_request_fails_exits_2_and_keeps_its_records(shards, tmp_path, capsys):
    with FakeOpenAIServer(lambda body: Reply(status=500), max_requests=50, max_seconds=60) as server:
        rc = _judge(shards, tmp_path / "j", server)
    line = _one_line(capsys)
    assert rc == 2 and "no item could be judged: all 2 judge request(s) failed" in line
    recs = [json.loads(x) for x in (tmp_path / "j" / "judgments.jsonl").read_text().splitlines()]
    assert len(recs) == 2 and {r["status"] for r in recs} == {"failed"}
    manifest = json.loads((tmp_path / "j" / "judge_manifest.json").read_text())
    assert manifest["ok"] == 0 and manifest["failed"] == 2
    # and moud report refuses those judgments: no table of nothing
    assert moud("report", "--judgments", tmp_path / "j", "--out", tmp_path / "r", "--quiet") == 2
    assert "no successful judgment to report" in _one_line(capsys) and not (tmp_path / "r").exists()


def test_judge_named_api_key_variable_must_be_set(shards, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("MOUD_TEST_NO_SUCH_KEY", raising=False)
    with FakeOpenAIServer(ScriptedJudge(), max_requests=10, max_seconds=60) as server:
        rc = _judge(shards, tmp_path / "j", server, "--api-key-env", "MOUD_TEST_NO_SUCH_KEY")
        assert server.count == 0
    assert rc == 2 and "--api-key-env MOUD_TEST_NO_SUCH_KEY: environment variable is not set" in _one_line(
        capsys
    )
    assert not (tmp_path / "j").exists()


def test_unreachable_server_is_one_line_and_leaves_nothing(shards, tmp_path, capsys):
    with FakeOpenAIServer(ScriptedJudge(), max_requests=10, max_seconds=60) as server:
        pass  # started and stopped: nothing listens on its port any more
    assert _judge(shards, tmp_path / "j", server) == 2
    line = _one_line(capsys)
    assert line.startswith("moud judge: error:") and server.base_url.split("/v1")[0] in line, line
    assert not (tmp_path / "j").exists()


@pytest.mark.parametrize("kind", BAD_OUT_KINDS)
def test_unwritable_out_is_one_line_and_writes_nothing(shards, tmp_path, monkeypatch, capsys, kind):
    judged = _judgments(tmp_path / "judged", [_rec("fr-0000000/dialogue", scores={"fluency": 4})])
    before = snapshot(tmp_path)
    with FakeOpenAIServer(ScriptedJudge(), max_requests=10, max_seconds=60) as server:
        out = bad_out(kind, tmp_path, monkeypatch)
        before = snapshot(tmp_path)
        commands = {
            "judge": lambda: _judge(shards, out, server),
            "report": lambda: moud("report", "--judgments", judged, "--out", out, "--quiet"),
            "stats": lambda: moud("stats", "--shards", shards, "--out", out, "--quiet"),
        }
        for name, command in commands.items():
            assert command() == 2, name
            line = _one_line(capsys)
            assert line.startswith(f"moud {name}: error:") and str(out) in line, line
        assert server.count == 0  # refused before any request
    assert snapshot(tmp_path) == before


def test_report_score_of_the_wrong_kind_is_one_line(tmp_path, capsys):
    judged = _judgments(
        tmp_path / "judged",
        [_rec("fr-1/dialogue", scores={"fluency": 4}), _rec("fr-2/dialogue", scores={"fluency": "five"})],
    )
    assert moud("report", "--judgments", judged, "--out", tmp_path / "r", "--quiet") == 2
    line = _one_line(capsys)
    assert "judgments.jsonl:2: field 'scores.fluency': expected a score 1-5, got 'five'" in line
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize(
    "bad, expected",
    [
        ({"repeat": "0"}, "field 'repeat': expected an integer >= 0"),
        ({"status": "done"}, "field 'status': expected 'ok' or 'failed'"),
        ({"scores": {"fluency": 9}}, "field 'scores.fluency': expected a score 1-5, got 9"),
        ({"scores": [4]}, "field 'scores': expected a mapping"),
    ],
)
def test_report_bad_record_fields(tmp_path, capsys, bad, expected):
    judged = _judgments(tmp_path / "judged", [{**_rec("fr-1/dialogue", scores={"fluency": 4}), **bad}])
    assert moud("report", "--judgments", judged, "--out", tmp_path / "r", "--quiet") == 2
    assert f"judgments.jsonl:1: {expected}" in _one_line(capsys)


def test_report_corrupt_manifest_and_empty_judgments(tmp_path, capsys):
    judged = _judgments(tmp_path / "judged", [_rec("fr-1/dialogue", scores={"fluency": 4})])
    (judged / "judge_manifest.json").write_text('{"config": {"judge_model": "j"', encoding="utf-8")
    assert moud("report", "--judgments", judged, "--out", tmp_path / "r", "--quiet") == 2
    line = _one_line(capsys)
    assert "judge_manifest.json:1: invalid JSON at column 31 (Expecting ',' delimiter)" in line
    empty = _judgments(tmp_path / "empty", [])
    assert moud("report", "--judgments", empty, "--out", tmp_path / "r", "--quiet") == 2
    assert "no judgment records" in _one_line(capsys) and not (tmp_path / "r").exists()


def test_stats_refuses_a_language_folder_and_empty_shards(tmp_path, capsys):
    shards = write_shards(tmp_path / "run", [make_row("fr", 0)])
    assert moud("stats", "--shards", shards / "shards" / "fr", "--out", tmp_path / "o") == 2
    assert "not a language folder" in _one_line(capsys) and not (tmp_path / "o").exists()
    (shards / "shards" / "fr" / "shard-00000.jsonl").write_text("", encoding="utf-8")
    assert moud("stats", "--shards", shards, "--out", tmp_path / "o", "--quiet") == 2
    assert "no rows in the shard files" in _one_line(capsys) and not (tmp_path / "o").exists()


@pytest.mark.parametrize("mask", [0o022, 0o077])
def test_judge_report_and_stats_outputs_follow_the_umask(shards, tmp_path, mask):
    with umask(mask), FakeOpenAIServer(ScriptedJudge(), max_requests=20, max_seconds=60) as server:
        assert _judge(shards, tmp_path / "j", server) == 0
        assert (
            moud(
                "report",
                "--judgments",
                tmp_path / "j",
                "--shards",
                shards,
                "--out",
                tmp_path / "r",
                "--quiet",
                "--bootstrap",
                "20",
            )
            == 0
        )
        assert moud("stats", "--shards", shards, "--out", tmp_path / "s", "--quiet") == 0
    assert {p.suffix for p in (tmp_path / "r").iterdir()} >= {".md", ".png", ".csv", ".json"}
    for folder in ("j", "r", "s"):
        assert wrong_modes(tmp_path / folder, mask) == [], folder


def test_report_replaces_an_earlier_report_whole(tmp_path):
    three = _judgments(
        tmp_path / "three",
        [_rec(f"fr-{i}/dialogue", model=f"m{i}", scores={"fluency": 3 + i % 2}) for i in range(3)],
    )
    out = tmp_path / "report"
    assert moud("report", "--judgments", three, "--out", out, "--quiet", "--bootstrap", "20") == 0
    assert sorted(p.name for p in out.glob("heatmap_*.png")) == [
        "heatmap_0.png",
        "heatmap_1.png",
        "heatmap_2.png",
    ]
    (out / "notes.txt").write_text("mine\n", encoding="utf-8")
    one = _judgments(tmp_path / "one", [_rec("fr-1/dialogue", scores={"fluency": 4})])
    assert moud("report", "--judgments", one, "--out", out, "--quiet", "--bootstrap", "20") == 0
    assert sorted(p.name for p in out.glob("heatmap_*.png")) == ["heatmap_0.png"]  # no stale plots
    assert (out / "notes.txt").read_text() == "mine\n"  # what the report does not own stays
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no staging folder left
    assert os.path.getsize(out / "report.md") > 0
