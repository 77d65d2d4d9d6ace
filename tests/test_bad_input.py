"""One bad-input matrix over every command: missing, empty, corrupt and wrong-type input; an output that is a
file, goes through a file, cannot be written, or already holds something else; an unreachable server.

Every case must end with exit status 2, one line on stderr naming the file, line or field (the fragment
below), and nothing half-written: no output folder where there was none, an existing one unchanged, and no
temp file or staged folder left anywhere under the test folder.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import moud_cli
from generation.testing.crowdworker import ScriptedCrowdworker
from generation.testing.fake_openai import FakeOpenAIServer
from tests.cli import generate_args
from tests.eval.helpers import ScriptedJudge, write_shards
from tests.gates.helpers import make_row

UNWRITABLE = "/sys/moud-bad-input/out"  # refused even to root (sysfs)
CLOSED = "http://127.0.0.1:9/v1"  # nothing listens on the discard port


@pytest.fixture(scope="module")
def judge_url():
    with FakeOpenAIServer(ScriptedJudge(), model="judge", log_requests=False, max_seconds=600) as server:
        yield server.base_url


@pytest.fixture(scope="module")
def world(tmp_path_factory, judge_url) -> dict[str, str]:
    """Valid inputs of every kind, and broken ones."""
    root = tmp_path_factory.mktemp("world")
    run = root / "run"
    with FakeOpenAIServer(ScriptedCrowdworker(), model="m", log_requests=False) as server:
        assert moud_cli.main(generate_args(run, server.base_url)) == 0
    built = root / "moud"
    assert (
        moud_cli.main(["build", "--shards", str(run), "--out", str(built), "--quiet", "--workers", "1"]) == 0
    )
    rows = [make_row("fr", index=i) for i in range(3)]
    judged = root / "judged"
    judged.mkdir()
    records = [
        {
            "item_id": f"{r['id']}/dialogue",
            "row_id": r["id"],
            "language": "fr",
            "generator_model": "m",
            "kind": "dialogue",
            "status": "ok",
            "scores": {"fluency": 4, "toxicity": 1},
            "repeat": 0,
            "speech_event": "small_talk",
        }
        for r in rows
    ]
    (judged / "judgments.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    five = root / "five.jsonl"
    five.write_text(json.dumps({**records[0], "scores": {"fluency": "five"}}) + "\n", encoding="utf-8")
    corrupt = write_shards(root / "corrupt", rows)
    shard = corrupt / "shards" / "fr" / "shard-00000.jsonl"
    shard.write_text(shard.read_text(encoding="utf-8") + '{"id": "fr-0000009", \n', encoding="utf-8")
    wrong = root / "wrong" / "shards" / "fr"
    wrong.mkdir(parents=True)
    (wrong / "shard-00000.jsonl").write_text('["not", "a", "row"]\n', encoding="utf-8")
    (root / "empty").mkdir()
    (root / "afile").write_text("just a file\n", encoding="utf-8")
    (root / "bad.yaml").write_text("a: [1, 2\n", encoding="utf-8")
    (root / "list.yaml").write_text("- 1\n- 2\n", encoding="utf-8")
    (root / "ten.yaml").write_text("max_steps: ten\n", encoding="utf-8")
    (root / "latin.csv").write_bytes(b"item_id,rater,criterion,score\nfr-0000000/dialogue,r\xe9,fluency,3\n")
    (root / "Fr_persona_split_valid_human_annotated.json").write_text(
        '[{"persona": ["x"], "dialogue": [[', encoding="utf-8"
    )
    corrupt_manifest = root / "badmanifest"
    (corrupt_manifest / "shards").mkdir(parents=True)
    (corrupt_manifest / "manifest.json").write_text("{not json", encoding="utf-8")
    foreign = root / "foreign"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("precious", encoding="utf-8")
    card = root / "badcard"
    card.mkdir()
    (card / "README.md").write_text("---\nconfigs: [\n---\n", encoding="utf-8")
    return {
        "run": str(run),
        "built": str(built),
        "judged": str(judged),
        "five": str(five),
        "corrupt": str(corrupt),
        "wrong": str(root / "wrong"),
        "empty": str(root / "empty"),
        "file": str(root / "afile"),
        "missing": str(root / "nowhere"),
        "bad_yaml": str(root / "bad.yaml"),
        "list_yaml": str(root / "list.yaml"),
        "ten_yaml": str(root / "ten.yaml"),
        "latin": str(root / "latin.csv"),
        "xp_corrupt": str(root),
        "bad_manifest": str(corrupt_manifest),
        "foreign": str(foreign),
        "bad_card": str(card),
        "lang_folder": str(run / "shards" / "fr"),
        "root": str(root),
        "judge_url": judge_url,
    }


GEN = ["--languages", "fr", "--dialogues", "1", "--model", "m", "--quiet", "--base-url", CLOSED]
JUDGE = ["--judge-model", "m", "--base-url", CLOSED, "--quiet", "--no-cache"]

# (case id, argv with {placeholders}, fragment of the one-line error, the output that must not appear)
CASES = [
    # generate
    (
        "generate-config-missing",
        ["generate", "--config", "{missing}.yaml", "--out", "{new}", *GEN],
        "nowhere.yaml: file not found",
        "{new}",
    ),
    (
        "generate-config-corrupt",
        ["generate", "--config", "{bad_yaml}", "--out", "{new}", *GEN],
        "bad.yaml:2:1: invalid YAML",
        "{new}",
    ),
    (
        "generate-config-wrong-type",
        ["generate", "--config", "{list_yaml}", "--out", "{new}", *GEN],
        "list.yaml: expected a mapping",
        "{new}",
    ),
    ("generate-out-is-file", ["generate", "--out", "{file}", *GEN], "afile: is a file", None),
    ("generate-out-through-file", ["generate", "--out", "{file}/run", *GEN], "afile", "{file}/run"),
    ("generate-out-unwritable", ["generate", "--out", UNWRITABLE, *GEN], "/sys/moud-bad-input", None),
    ("generate-unreachable", ["generate", "--out", "{new}", *GEN], "127.0.0.1:9", None),
    # merge
    (
        "merge-input-missing",
        ["merge", "--inputs", "{missing}", "--out", "{new}"],
        "nowhere: no such folder",
        "{new}",
    ),
    (
        "merge-input-empty",
        ["merge", "--inputs", "{empty}", "--out", "{new}"],
        "empty: no manifest.json",
        "{new}",
    ),
    (
        "merge-manifest-corrupt",
        ["merge", "--inputs", "{bad_manifest}", "--out", "{new}"],
        "manifest.json:1: invalid JSON",
        "{new}",
    ),
    ("merge-out-exists", ["merge", "--inputs", "{run}", "--out", "{file}"], "afile exists", None),
    (
        "merge-out-unwritable",
        ["merge", "--inputs", "{run}", "--out", UNWRITABLE],
        "/sys/moud-bad-input",
        None,
    ),
    # filter
    (
        "filter-in-missing",
        ["filter", "--in", "{missing}", "--out", "{new}"],
        "nowhere: no such folder",
        "{new}",
    ),
    (
        "filter-in-empty",
        ["filter", "--in", "{empty}", "--out", "{new}"],
        "empty: no shard files found",
        "{new}",
    ),
    (
        "filter-in-corrupt",
        ["filter", "--in", "{corrupt}", "--out", "{new}"],
        "shard-00000.jsonl:4: invalid JSON at column",
        "{new}",
    ),
    (
        "filter-in-wrong-type",
        ["filter", "--in", "{wrong}", "--out", "{new}"],
        "shard-00000.jsonl:1: expected a JSON object",
        "{new}",
    ),
    (
        "filter-in-language-folder",
        ["filter", "--in", "{lang_folder}", "--out", "{new}"],
        "expected <lang>/*.jsonl sub-folders",
        "{new}",
    ),
    (
        "filter-config-corrupt",
        ["filter", "--in", "{run}", "--out", "{new}", "--config", "{bad_yaml}"],
        "bad.yaml:2:1: invalid YAML",
        "{new}",
    ),
    ("filter-out-is-file", ["filter", "--in", "{run}", "--out", "{file}"], "afile: is a file", None),
    ("filter-out-through-file", ["filter", "--in", "{run}", "--out", "{file}/x"], "afile", "{file}/x"),
    (
        "filter-out-foreign",
        ["filter", "--in", "{run}", "--out", "{foreign}", "--overwrite"],
        "foreign: not an output of `moud filter`",
        None,
    ),
    ("filter-out-unwritable", ["filter", "--in", "{run}", "--out", UNWRITABLE], "/sys/moud-bad-input", None),
    # build
    (
        "build-in-missing",
        ["build", "--shards", "{missing}", "--out", "{new}"],
        "nowhere: no such folder",
        "{new}",
    ),
    (
        "build-in-empty",
        ["build", "--shards", "{empty}", "--out", "{new}"],
        "empty: no shard files found",
        "{new}",
    ),
    (
        "build-in-wrong-type",
        ["build", "--shards", "{wrong}", "--out", "{new}", "--workers", "1"],
        "shard-00000.jsonl:1:",
        "{new}",
    ),
    (
        "build-out-is-file",
        ["build", "--shards", "{run}", "--out", "{file}"],
        "afile: exists and is not a folder",
        None,
    ),
    (
        "build-out-through-file",
        ["build", "--shards", "{run}", "--out", "{file}/x", "--workers", "1"],
        "afile",
        "{file}/x",
    ),
    (
        "build-out-foreign",
        ["build", "--shards", "{run}", "--out", "{foreign}"],
        "foreign: folder exists",
        None,
    ),
    (
        "build-out-unwritable",
        ["build", "--shards", "{run}", "--out", UNWRITABLE, "--workers", "1"],
        "/sys/moud-bad-input",
        None,
    ),
    # judge
    (
        "judge-in-missing",
        ["judge", "--shards", "{missing}", "--out", "{new}", *JUDGE],
        "nowhere: no such folder",
        "{new}",
    ),
    (
        "judge-in-corrupt",
        [
            "judge",
            "--shards",
            "{corrupt}",
            "--out",
            "{new}",
            "--judge-model",
            "judge",
            "--base-url",
            "{judge_url}",
            "--quiet",
            "--no-cache",
        ],
        "shard-00000.jsonl:4:",
        "{new}",
    ),
    ("judge-out-is-file", ["judge", "--shards", "{run}", "--out", "{file}", *JUDGE], "afile", None),
    ("judge-unreachable", ["judge", "--shards", "{run}", "--out", "{new}", *JUDGE], "127.0.0.1:9", "{new}"),
    # report, stats, agreement
    ("report-missing", ["report", "--judgments", "{missing}", "--out", "{new}"], "nowhere", "{new}"),
    ("report-empty", ["report", "--judgments", "{empty}", "--out", "{new}"], "empty", "{new}"),
    ("report-score-five", ["report", "--judgments", "{five}", "--out", "{new}"], "five.jsonl:1:", "{new}"),
    ("report-out-is-file", ["report", "--judgments", "{judged}", "--out", "{file}"], "afile", None),
    (
        "report-out-unwritable",
        ["report", "--judgments", "{judged}", "--out", UNWRITABLE],
        "/sys/moud-bad-input",
        None,
    ),
    (
        "stats-missing",
        ["stats", "--shards", "{missing}", "--out", "{new}"],
        "nowhere: no such folder",
        "{new}",
    ),
    ("stats-corrupt", ["stats", "--shards", "{corrupt}", "--out", "{new}"], "shard-00000.jsonl:4:", "{new}"),
    (
        "stats-language-folder",
        ["stats", "--shards", "{lang_folder}", "--out", "{new}"],
        "expected <lang>/*.jsonl sub-folders",
        "{new}",
    ),
    ("stats-out-through-file", ["stats", "--shards", "{run}", "--out", "{file}/x"], "afile", "{file}/x"),
    (
        "agreement-ratings-missing",
        ["agreement", "--ratings", "{missing}.csv", "--judgments", "{judged}", "--out", "{new}"],
        "nowhere.csv",
        "{new}",
    ),
    (
        "agreement-ratings-latin1",
        ["agreement", "--ratings", "{latin}", "--judgments", "{judged}", "--out", "{new}"],
        "latin.csv:2: not UTF-8 or UTF-16",
        "{new}",
    ),
    (
        "agreement-judgments-missing",
        ["agreement", "--ratings", "{latin}", "--judgments", "{missing}", "--out", "{new}"],
        "nowhere",
        "{new}",
    ),
    # train, evaluate
    (
        "train-data-missing",
        ["train", "--train", "xpersona:{missing}@valid", "--model", "{missing}", "--out", "{new}", "--quiet"],
        "nowhere",
        "{new}",
    ),
    (
        "train-data-corrupt",
        [
            "train",
            "--train",
            "xpersona:{xp_corrupt}@valid",
            "--languages",
            "fr",
            "--model",
            "{missing}",
            "--out",
            "{new}",
            "--quiet",
        ],
        "nowhere",
        "{new}",
    ),
    (
        "train-config-ten",
        [
            "train",
            "--config",
            "{ten_yaml}",
            "--train",
            "xpersona:{xp_corrupt}@valid",
            "--out",
            "{new}",
            "--quiet",
        ],
        "max_steps",
        "{new}",
    ),
    (
        "evaluate-model-missing",
        [
            "evaluate",
            "--model",
            "{missing}",
            "--test",
            "xpersona:{xp_corrupt}@valid",
            "--out",
            "{new}",
            "--quiet",
        ],
        "nowhere",
        "{new}",
    ),
    # upload (dry run: nothing is sent anyway)
    (
        "upload-folder-missing",
        ["upload", "--folder", "{missing}", "--repo", "me/moud", "--dry-run", "--quiet"],
        "nowhere",
        None,
    ),
    (
        "upload-folder-empty",
        ["upload", "--folder", "{empty}", "--repo", "me/moud", "--dry-run", "--quiet"],
        "empty: no README.md",
        None,
    ),
    (
        "upload-card-corrupt",
        ["upload", "--folder", "{bad_card}", "--repo", "me/moud", "--dry-run", "--quiet"],
        "README.md",
        None,
    ),
    (
        "upload-repo-id",
        ["upload", "--folder", "{built}", "--repo", "not a repo", "--dry-run", "--quiet"],
        "--repo 'not a repo': invalid repo id",
        None,
    ),
    # review
    (
        "review-sample-missing",
        [
            "review",
            "sample",
            "--dataset",
            "{missing}",
            "--languages",
            "fr",
            "--per-language",
            "2",
            "--raters",
            "2",
            "--out",
            "{new}",
        ],
        "nowhere",
        "{new}",
    ),
    (
        "review-sample-out-is-file",
        [
            "review",
            "sample",
            "--dataset",
            "{built}",
            "--languages",
            "fr",
            "--per-language",
            "2",
            "--raters",
            "2",
            "--out",
            "{file}",
        ],
        "afile",
        None,
    ),
    ("review-serve-missing", ["review", "serve", "{missing}"], "nowhere", None),
    ("review-export-missing", ["review", "export", "{missing}"], "nowhere", None),
]


def _snapshot(root: Path) -> dict[str, float]:
    return {str(p): p.stat().st_mtime for p in root.rglob("*")}


def _leftovers(root: Path) -> list[str]:
    return sorted(str(p) for p in root.rglob(".*") if ".tmp" in p.name or "moud-tmp" in p.name)


@pytest.mark.parametrize("case, argv, fragment, absent", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_exit_2_and_nothing_half_written(
    world, tmp_path, capsys, case, argv, fragment, absent
):
    fill = {**world, "new": str(tmp_path / "out")}
    root = Path(world["root"])
    before = _snapshot(root)
    rc = moud_cli.main([a.format(**fill) for a in argv])
    err = capsys.readouterr().err.strip()
    assert rc == 2, err
    assert len(err.splitlines()) == 1, err
    assert fragment.format(**fill) in err, err
    assert "Traceback" not in err
    if absent is not None:
        assert not Path(absent.format(**fill)).exists()
    assert _snapshot(root) == before  # inputs and existing outputs untouched
    assert not _leftovers(root) and not _leftovers(tmp_path)
