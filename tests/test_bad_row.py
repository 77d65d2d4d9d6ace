"""One row check for every command: the same bad row stops `moud filter`, `moud judge`, `moud stats` and
`moud build` with the same one-line error naming the file, line and field (exit 2), and nothing written.
(Before, validate_row let element types through: filter and judge passed rows the build rejected.)"""

from __future__ import annotations

import copy

import pytest

import moud_cli
from generation.testing.fake_openai import FakeOpenAIServer
from moud_core.jsonl import write_jsonl_atomic
from tests.eval.helpers import ScriptedJudge, make_row

BAD_ROWS = {
    "lid_scores": (
        lambda r: r["metadata"].__setitem__("lid_scores", ["x"]),
        "metadata.lid_scores: expected a list of numbers",
    ),
    "categories": (
        lambda r: r["metadata"].__setitem__("persona_b_categories", [3]),
        "metadata.persona_b_categories: expected a list of strings",
    ),
    "persona": (
        lambda r: r["persona_a"].__setitem__(1, 42),
        "persona_a: expected a non-empty list of non-empty strings",
    ),
    "speaker": (
        lambda r: r["turns"][1].__setitem__("speaker", "C"),
        "turns[1].speaker: expected 'A' or 'B', got 'C'",
    ),
}


def _run(tmp_path, corrupt):
    rows = [make_row("fr", i) for i in range(3)]
    bad = copy.deepcopy(rows[1])
    corrupt(bad)
    rows[1] = bad
    shard = tmp_path / "run" / "shards" / "fr" / "shard-00000.jsonl"
    write_jsonl_atomic(shard, rows)
    return tmp_path / "run", shard


def _commands(run, out, server):
    return {
        "filter": ["filter", "--in", str(run), "--out", str(out), "--workers", "1", "--quiet"],
        "judge": [
            "judge",
            "--shards",
            str(run),
            "--out",
            str(out),
            "--judge-model",
            server.model,
            "--base-url",
            server.base_url,
            "--quiet",
            "--no-cache",
        ],
        "stats": ["stats", "--shards", str(run), "--out", str(out), "--quiet"],
        "build": ["build", "--shards", str(run), "--out", str(out), "--workers", "1", "--quiet"],
    }


@pytest.mark.parametrize("case", sorted(BAD_ROWS))
def test_filter_judge_stats_and_build_agree_on_a_bad_row(tmp_path, capsys, case):
    corrupt, problem = BAD_ROWS[case]
    run, shard = _run(tmp_path, corrupt)
    expected = f"{shard}:2: {problem}"
    with FakeOpenAIServer(ScriptedJudge(), max_requests=50, max_seconds=60) as server:
        for name, argv in _commands(run, tmp_path / "out", server).items():
            assert moud_cli.main(argv) == 2, name
            err = capsys.readouterr().err.strip()
            assert len(err.splitlines()) == 1 and expected in err, (name, err)
            assert not (tmp_path / "out").exists(), name
