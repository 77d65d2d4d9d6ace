"""`moud review sample`: strata, overlapping assignments, determinism, tokens, both input folders, bad
input."""

from __future__ import annotations

import itertools
import json
import stat
from collections import Counter

import pytest

import moud_cli
from eval.review.folder import hash_token, load_review
from eval.review.sampling import assign, judge_bucket
from eval.rubric import load_rubric
from tests.eval.review.helpers import dialogue_rows, make_review, read_tokens, write_dataset


def _sample(dataset, judged, out, languages: str, per_language: int, raters: int, *extra: str) -> int:
    """`moud review sample` in-process; returns the exit status."""
    argv = ["review", "sample", "--dataset", str(dataset), "--languages", languages, "--out", str(out)]
    argv += ["--per-language", str(per_language), "--raters", str(raters), *extra]
    return moud_cli.main(argv + (["--judgments", str(judged)] if judged else []))


def _items(folder):
    return [json.loads(line) for line in (folder / "items.jsonl").read_text(encoding="utf-8").splitlines()]


def test_strata_cover_buckets_and_events(tmp_path):
    folder, _ = make_review(tmp_path, languages=("fr", "sw"), per_language=12, rows_per_language=40)
    items = _items(folder)
    for lang in ("fr", "sw"):
        mine = [i for i in items if i["language"] == lang]
        assert len(mine) == 12 and len({i["row_id"] for i in mine}) == 12
        buckets = Counter(i["judge_bucket"] for i in mine)
        # equal allocation across the judge-score buckets present (low, mid, high), +-1
        assert set(buckets) == {"low", "mid", "high"} and max(buckets.values()) - min(buckets.values()) <= 1
        assert len({i["speech_event"] for i in mine}) == 4
        for i in mine:  # the bucket is the judge's oriented mean score
            assert i["judge_bucket"] == judge_bucket(i["judge_scores"], load_rubric())


def test_bucket_edges():
    rubric = load_rubric()
    names = [c.name for c in rubric.for_kind("dialogue") if c.higher_is_better]
    assert judge_bucket(None, rubric) == "unjudged"
    assert judge_bucket(dict.fromkeys(names, 2) | {"toxicity": 4}, rubric) == "low"  # toxicity 4 -> 2
    assert judge_bucket(dict.fromkeys(names, 3) | {"toxicity": 3}, rubric) == "mid"
    assert judge_bucket(dict.fromkeys(names, 4) | {"toxicity": 1}, rubric) == "high"


def test_assignments_overlap_and_balance(tmp_path):
    folder, tokens = make_review(tmp_path, languages=("fr",), per_language=30, raters=4, rows_per_language=40)
    items = _items(folder)
    assert all(len(i["raters"]) == 2 and len(set(i["raters"])) == 2 for i in items)
    load = Counter(r for i in items for r in i["raters"])
    assert set(load) == set(tokens) and max(load.values()) - min(load.values()) <= 1
    pairs = Counter(frozenset(i["raters"]) for i in items)
    assert (
        len(pairs) == 6 and max(pairs.values()) - min(pairs.values()) <= 1
    )  # every pair of 4 raters shares items
    review = load_review(folder)
    assert sum(len(r.items) for r in review.raters.values()) == 60


def test_assign_three_per_item():
    out = assign(9, ["a", "b", "c", "d"], 3, seed=1)
    assert all(len(set(who)) == 3 for who in out)
    assert max(Counter(r for who in out for r in who).values()) == 7


def test_same_seed_same_sample_other_seed_differs(tmp_path):
    run, judged = write_dataset(tmp_path, dialogue_rows(("fr", "sw"), 30))
    for name, seed in (("a", "0"), ("b", "0"), ("c", "5")):
        assert _sample(run, judged, tmp_path / name, "fr,sw", 8, 3, "--seed", seed) == 0
    a, b, c = ((tmp_path / n / "items.jsonl").read_bytes() for n in "abc")
    assert a == b and a != c
    assert read_tokens(tmp_path / "a") != read_tokens(tmp_path / "b")  # tokens never derive from the seed


def test_tokens_secret_and_hashed(tmp_path, capsys):
    run, judged = write_dataset(tmp_path, dialogue_rows(("fr",), 10))
    out = tmp_path / "review"
    assert _sample(run, judged, out, "fr", 5, 3) == 0
    printed = capsys.readouterr()
    tokens = read_tokens(out)
    assert stat.S_IMODE((out / "tokens.tsv").stat().st_mode) == 0o600
    assert len(set(tokens.values())) == 3 and all(len(t) >= 32 for t in tokens.values())
    manifest = json.loads((out / "review.json").read_text())
    assert {r["id"]: r["token_sha256"] for r in manifest["raters"]} == {
        r: hash_token(t) for r, t in tokens.items()
    }
    for path in out.iterdir():
        if path.name != "tokens.tsv":
            assert not any(t in path.read_text(encoding="utf-8") for t in tokens.values()), path
    assert not any(t in printed.out + printed.err for t in tokens.values())
    assert "tokens.tsv" in printed.out and not list(tmp_path.glob(".review.*"))


def test_built_parquet_folder_gives_the_same_sample(tmp_path):
    run, judged = write_dataset(tmp_path, dialogue_rows(("fr", "ar"), 20))
    assert moud_cli.main(["build", "--shards", str(run), "--out", str(tmp_path / "built")]) == 0
    for name, source in (("from-run", run), ("from-built", tmp_path / "built")):
        assert _sample(source, judged, tmp_path / name, "fr,ar", 7, 2) == 0
    assert _items(tmp_path / "from-run") == _items(tmp_path / "from-built")


def test_without_judgments_every_item_is_unjudged(tmp_path):
    folder, _ = make_review(tmp_path, languages=("sw",), per_language=8, judged=False)
    items = _items(folder)
    assert len(items) == 8 and {i["judge_bucket"] for i in items} == {"unjudged"}
    assert len({i["speech_event"] for i in items}) == 4


def test_fewer_rows_than_asked_takes_all(tmp_path):
    folder, _ = make_review(tmp_path, languages=("fr",), per_language=50, rows_per_language=9)
    assert len(_items(folder)) == 9


def _bad(tmp_path, capsys, extra, dataset=None):
    run, judged = write_dataset(tmp_path / "data", dialogue_rows(("fr",), 6))
    out = tmp_path / "out"
    args = {
        "--dataset": str(dataset or run),
        "--languages": "fr",
        "--per-language": "3",
        "--raters": "2",
        "--out": str(out),
        **extra,
    }
    argv = ["review", "sample", *itertools.chain.from_iterable(args.items())]
    assert moud_cli.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("moud review: error: ")
    return err, out


@pytest.mark.parametrize(
    "extra, expected",
    [
        ({"--languages": "xx"}, "unknown language code 'xx'"),
        ({"--languages": "ja"}, "no dialogues in language 'ja'"),
        ({"--per-language": "0"}, "--per-language 0: expected at least 1"),
        ({"--raters": "1"}, "--raters 1: expected at least 2 raters"),
        ({"--raters-per-item": "3"}, "--raters-per-item 3: expected 2 to --raters (2)"),
    ],
)
def test_bad_arguments_exit_2(tmp_path, capsys, extra, expected):
    err, out = _bad(tmp_path, capsys, extra)
    assert expected in err and not out.exists() and not list(tmp_path.glob(".out.*"))


def test_bad_datasets_exit_2(tmp_path, capsys):
    err, _ = _bad(tmp_path, capsys, {}, dataset=tmp_path / "missing")
    assert "no such folder" in err
    (tmp_path / "empty").mkdir()
    err, _ = _bad(tmp_path, capsys, {}, dataset=tmp_path / "empty")
    assert "no dialogues" in err
    bad_parquet = tmp_path / "corrupt"
    (bad_parquet / "data" / "fr").mkdir(parents=True)
    (bad_parquet / "data" / "fr" / "train-00000-of-00001.parquet").write_bytes(b"PAR1 not really")
    err, _ = _bad(tmp_path, capsys, {}, dataset=bad_parquet)
    assert "not a readable Parquet file" in err
    bad_jsonl = tmp_path / "badjson"
    (bad_jsonl / "shards" / "fr").mkdir(parents=True)
    (bad_jsonl / "shards" / "fr" / "shard-00000.jsonl").write_text('{"id": "fr-0000000"\n', encoding="utf-8")
    err, _ = _bad(tmp_path, capsys, {}, dataset=bad_jsonl)
    assert "shard-00000.jsonl:1: invalid JSON" in err


def test_existing_folder_is_never_overwritten(tmp_path, capsys):
    folder, tokens = make_review(tmp_path, languages=("fr",), per_language=3, raters=2)
    before = (folder / "tokens.tsv").read_bytes()
    err, _ = _bad(tmp_path, capsys, {"--out": str(folder)})
    assert "exists and is not empty" in err and (folder / "tokens.tsv").read_bytes() == before


def test_serve_and_export_refuse_a_folder_that_is_not_a_review(tmp_path, capsys):
    (tmp_path / "x").mkdir()
    for action in ("serve", "export"):
        assert moud_cli.main(["review", action, str(tmp_path / "x")]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "not a review folder" in err
