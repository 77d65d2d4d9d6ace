"""The judge end to end: loopback OpenAI-compatible server via make_backend("openai"), and an in-process
Backend for batching edge cases."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

import moud_cli
from eval.items import iter_items
from eval.judge_batches import Judge, JudgeConfig
from eval.rubric import load_rubric
from generation.testing.fake_openai import FakeOpenAIServer
from moud_core.backends.base import Backend, ChatResponse
from moud_core.backends.factory import make_backend
from tests import ROOT
from tests.eval.helpers import ScriptedJudge, make_row, prompt_ids, stable_score, write_shards


@pytest.fixture()
def shards(tmp_path):
    rows = [make_row("fr", 0), make_row("fr", 1), make_row("zh", 0, model="model-b")]
    return write_shards(tmp_path / "run", rows)


def _read(path):
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines()]


def test_judge_cli_against_loopback_server(shards, tmp_path):
    responder = ScriptedJudge(
        flaky={"fr-0000000/dialogue"},
        out_of_range={"fr-0000001/common_ground"},
        refuse={"zh-0000000/persona_a"},
    )
    with FakeOpenAIServer(responder, max_requests=200, max_seconds=120) as server:
        args = [
            "judge",
            "--shards",
            str(shards),
            "--out",
            str(tmp_path / "j1"),
            "--judge-model",
            server.model,
            "--base-url",
            server.base_url,
            "--max-retries",
            "0",
            "--quiet",
            "--seed",
            "3",
        ]
        assert moud_cli.main(args) == 0
        first_count = server.count
        bodies = list(server.requests)
        # Same seed and inputs (same server behaviour), no cache -> byte-identical judgments.
        responder.seen.clear()
        assert moud_cli.main([*args[:4], str(tmp_path / "j2"), *args[5:], "--no-cache"]) == 0
        # Re-running into the first folder is served from its request cache.
        before = server.count
        assert moud_cli.main(args) == 0
        assert server.count == before
    recs = _read(tmp_path / "j1" / "judgments.jsonl")
    assert (tmp_path / "j1" / "judgments.jsonl").read_bytes() == (
        tmp_path / "j2" / "judgments.jsonl"
    ).read_bytes()
    assert len(recs) == 12 and first_count == 12 + 1 + 2 + 2  # +1 flaky retry, +2 retries for each failure
    by_id = {r["item_id"]: r for r in recs}
    rubric = load_rubric()
    ok = by_id["fr-0000000/persona_a"]
    assert ok["status"] == "ok" and ok["attempts"] == 1 and ok["generator_model"] == "model-a"
    assert ok["scores"] == {c.name: stable_score(ok["item_id"], c.name) for c in rubric.for_kind("persona")}
    assert ok["judge_model"] == server.model and ok["rubric_version"] == rubric.version and ok["rationale"]
    flaky = by_id["fr-0000000/dialogue"]
    assert flaky["status"] == "ok" and flaky["attempts"] == 2
    bad = by_id["fr-0000001/common_ground"]
    assert bad["status"] == "failed" and bad["scores"] is None and bad["failure_reason"] == "out_of_range"
    assert bad["attempts"] == 3
    refused = by_id["zh-0000000/persona_a"]
    assert refused["status"] == "failed" and refused["failure_reason"] == "refused"
    assert by_id["zh-0000000/dialogue"]["generator_model"] == "model-b"
    # Retries use a new seed and the retry temperature.
    tries = [b for b in bodies if prompt_ids(b)[0] == ["fr-0000001/common_ground"]]
    assert len({b["seed"] for b in tries}) == 3 and [b["temperature"] for b in tries] == [0.0, 0.7, 0.7]
    # The judge is prompted as a native speaker of the item's language.
    zh = next(b for b in bodies if prompt_ids(b)[0] == ["zh-0000000/dialogue"])
    assert "native speaker of Chinese" in zh["messages"][0]["content"]
    assert "我喜欢吃火锅" in zh["messages"][1]["content"]
    manifest = json.loads((tmp_path / "j1" / "judge_manifest.json").read_text())
    assert manifest["failed"] == 2 and manifest["failure_reasons"] == {"out_of_range": 1, "refused": 1}
    assert "api_key" not in json.dumps(manifest)


def test_batched_position_swapped_repeats_over_http(shards):
    rubric = load_rubric()
    with FakeOpenAIServer(ScriptedJudge(fenced=False), max_requests=100, max_seconds=120) as server:
        backend = make_backend("openai", server.model, base_url=server.base_url, max_retries=0)
        judge = Judge(backend, JudgeConfig(server.model, rubric, batch_size=2, repeats=2))
        recs = judge.judge(iter_items(shards, kinds=["persona", "common_ground"]))
        bodies = list(server.requests)
    # fr: 4 personas -> 2 batches, 2 common grounds -> 1 batch; zh: 2 personas + 1 cg -> 2 batches; x2 repeats
    assert len(bodies) == 10 and len(recs) == 18
    assert all(r["status"] == "ok" for r in recs)
    first = [prompt_ids(b)[0] for b in bodies]
    assert ["fr-0000000/persona_a", "fr-0000000/persona_b"] in first
    assert ["fr-0000000/persona_b", "fr-0000000/persona_a"] in first  # swapped repeat
    cg = [b["messages"][1]["content"] for b in bodies if prompt_ids(b)[0][0].endswith("common_ground")]
    plain, swapped = cg[0], cg[1]
    assert plain.index("J'habite à Lyon") < plain.index("Je suis étudiante")
    assert swapped.index("Je suis étudiante") < swapped.index("J'habite à Lyon")
    assert {r["swapped"] for r in recs if r["repeat"] == 1} == {True}


class _DropsSecondItemOnce(Backend):
    """In-process backend: answers every item except, once, the second item of a batch."""

    def __init__(self):
        super().__init__("local-judge")
        self.requests = []

    async def chat(self, request):
        body = {"messages": request.message_dicts(), "seed": request.seed}
        self.requests.append(body)
        ids, criteria = prompt_ids(body)
        keep = ids[:1] if len(self.requests) == 1 and len(ids) > 1 else ids
        entries = [{"id": i, "scores": {c: stable_score(i, c) for c in criteria}} for i in keep]
        return ChatResponse(json.dumps({"items": entries}))


def test_only_failing_items_are_asked_again(shards):
    backend = _DropsSecondItemOnce()
    judge = Judge(backend, JudgeConfig("local-judge", load_rubric(), batch_size=3))
    recs = judge.judge(iter_items(shards, kinds=["dialogue"], languages=["fr"]))
    assert [prompt_ids(b)[0] for b in backend.requests] == [
        ["fr-0000000/dialogue", "fr-0000001/dialogue"],
        ["fr-0000001/dialogue"],
    ]
    assert [(r["status"], r["attempts"]) for r in recs] == [("ok", 1), ("ok", 2)]


def test_judge_help_as_subprocess():
    out = subprocess.run(
        [sys.executable, "-m", "moud_cli", "judge", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0 and "native" in out.stdout and "example" in out.stdout


def test_bad_shard_row_is_a_one_line_error(tmp_path, capsys):
    d = tmp_path / "shards" / "fr"
    d.mkdir(parents=True)
    good = json.dumps(make_row("fr", 0), ensure_ascii=False)
    (d / "shard-00000.jsonl").write_text(good + '\n{"id": "fr-0000001"}\n', encoding="utf-8")
    with FakeOpenAIServer(ScriptedJudge(), max_requests=50, max_seconds=60) as server:
        code = moud_cli.main(
            [
                "judge",
                "--shards",
                str(tmp_path),
                "--out",
                str(tmp_path / "o"),
                "--judge-model",
                server.model,
                "--base-url",
                server.base_url,
                "--quiet",
                "--no-cache",
            ]
        )
    err = capsys.readouterr().err.strip()
    assert code == 2 and "shard-00000.jsonl:2: language: missing" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "o").exists()  # nothing half-written, no empty folder


def test_http_errors_become_judge_failures_not_scores(shards):
    from generation.testing.fake_openai import Reply

    scripted = ScriptedJudge()

    def responder(body):
        ids, _ = prompt_ids(body)
        if ids == ["fr-0000000/dialogue"]:
            return Reply(status=400)
        if ids == ["fr-0000001/dialogue"]:
            return Reply(raw=b'{"choices": [{"message": ')
        return scripted(body)

    with FakeOpenAIServer(responder, max_requests=50, max_seconds=60) as server:
        backend = make_backend("openai", server.model, base_url=server.base_url, max_retries=0)
        judge = Judge(backend, JudgeConfig(server.model, load_rubric(), max_attempts=2))
        recs = {r["item_id"]: r for r in judge.judge(iter_items(shards, kinds=["dialogue"]))}
    assert recs["zh-0000000/dialogue"]["status"] == "ok"
    for item_id in ("fr-0000000/dialogue", "fr-0000001/dialogue"):
        r = recs[item_id]
        assert r["status"] == "failed" and r["scores"] is None and r["attempts"] == 2
        assert r["failure_reason"] not in ("", "unparsable", "out_of_range"), r["failure_reason"]


def test_judge_options_are_checked_and_frozen(tmp_path, capsys):
    import dataclasses

    import moud_cli

    config = JudgeConfig.from_options({"judge_model": "m", "rubric": load_rubric(), "batch_size": 2})
    assert config.batch_size == 2 and config.describe()["batch_size"] == 2
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.batch_size = 3  # type: ignore[misc]
    for flag, value, message in (
        ("--batch-size", "0", "--batch-size: expected an integer >= 1, got 0"),
        ("--retry-temperature", "-1", "--retry-temperature: expected a number >= 0, got -1.0"),
    ):
        argv = ["judge", "--shards", str(tmp_path), "--out", str(tmp_path / "o"), "--judge-model", "m"]
        assert moud_cli.main([*argv, flag, value]) == 2
        assert message in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
