"""The benchmark harness: interleaved rounds, spreads, --tiny defaults and the JSON document."""

from __future__ import annotations

import json

import pytest

from benchmarks import harness


def test_interleave_rotates_the_first_configuration_each_round():
    order = []
    configs = {n: (lambda n=n: order.append(n) or {"x": len(order)}) for n in "abc"}
    runs = harness.interleave(configs, 4)
    assert order == list("abcbcacababc")
    assert [r["x"] for r in runs["a"]] == [1, 6, 8, 10]


def test_summarize_spreads_the_numeric_fields_all_rounds_have():
    runs = [
        {"v": 3, "w": 1.0, "name": "a", "ok": True},
        {"v": 1, "w": 2.0, "name": "b", "ok": True},
        {"v": 2},
    ]
    assert harness.summarize(runs) == {"v": {"median": 2, "min": 1, "max": 3}}
    table = harness.spread_table({"c": {"spread": {"v": {"median": 2, "min": 1, "max": 3}}}}, ["v", "u"])
    assert table.splitlines()[-1] == "| c | 2.0 [1.0, 3.0] | — |"


def test_tiny_sets_defaults_but_flags_given_win():
    def ap():
        p = harness.parser("doc", rounds=5)
        p.add_argument("--n", type=int, default=1000)
        p.add_argument("--m", type=int, default=7)
        return p

    args = harness.parse(ap(), [], tiny={"n": 3})
    assert (args.n, args.m, args.rounds, args.tiny) == (1000, 7, 5, False)
    args = harness.parse(ap(), ["--tiny"], tiny={"n": 3})
    assert (args.n, args.m, args.rounds, args.tiny) == (3, 7, 1, True)
    args = harness.parse(ap(), ["--tiny", "--n", "9", "--rounds", "2"], tiny={"n": 3})
    assert (args.n, args.rounds) == (9, 2)
    with pytest.raises(SystemExit):
        harness.parse(ap(), ["--rounds", "0"])


def test_finish_and_skip_write_one_document(tmp_path, capsys):
    out = tmp_path / "r.json"
    args = harness.parse(harness.parser("doc"), ["--tiny", "--json", str(out)])
    assert harness.finish(args, "bench_x", {"a": 1}, "TABLE", code=3) == 3
    doc = json.loads(out.read_text())
    assert doc["benchmark"] == "bench_x" and doc["tiny"] and doc["rounds"] == 1
    assert doc["skipped"] is None and doc["results"] == {"a": 1} and doc["machine"]["cpus"] >= 1
    assert capsys.readouterr().out == "TABLE\n"
    assert harness.skip(args, "bench_x", "gpu", "no CUDA device") == 0
    doc = json.loads(out.read_text())
    assert doc["skipped"] == {"reason": "gpu", "why": "no CUDA device"} and doc["results"] is None
    assert capsys.readouterr().out == "skipped: no CUDA device\n"
