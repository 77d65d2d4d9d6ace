"""`moud generate` end to end: HTTP backend against a loopback server, transformers backend on a tiny
chat model, crash (SIGKILL) and resume, and bad input."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time

import moud_cli
from generation.testing.crowdworker import ScriptedCrowdworker
from generation.testing.fake_openai import FakeOpenAIServer
from moud_core.schema import validate_row
from tests import ROOT
from tests.generation.helpers import read_rows, slowed, without_timings
from tests.generation.scale_helpers import cli


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_http_backend_end_to_end_with_malformed_answers(tmp_path):
    worker = ScriptedCrowdworker(malformed_rate=0.25, empty_rate=0.02)
    with FakeOpenAIServer(worker, model="test-model") as server:
        code = moud_cli.main(
            [
                "generate",
                "--out",
                str(tmp_path / "run"),
                "--languages",
                "fr,ja",
                "--dialogues",
                "6",
                "--model",
                "test-model",
                "--base-url",
                server.base_url,
                "--quiet",
                "--set",
                "shard_size=4",
            ]
        )
        bodies = list(server.requests)
    assert code == 0
    rows = read_rows(tmp_path / "run")
    assert set(rows) == {"fr", "ja"} and all(rows.values())
    for lang_rows in rows.values():
        assert all(validate_row(r) == [] for r in lang_rows)
    assert any(
        "大阪" in " ".join(r["persona_a"] + r["persona_b"]) or "梅田" in r["common_ground"]
        for r in rows["ja"]
    )
    # sampling parameters and per-request seeds reach the server
    assert all(b["model"] == "test-model" and "seed" in b and "temperature" in b for b in bodies)
    assert len({b["seed"] for b in bodies}) > len(bodies) // 2
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    assert manifest["last_run"]["requests"] == len(bodies)


def test_unreachable_server_names_url_and_how_to_start(tmp_path):
    url = f"http://127.0.0.1:{free_port()}/v1"
    proc = cli(
        "generate",
        "--out",
        tmp_path / "run",
        "--languages",
        "fr",
        "--dialogues",
        "1",
        "--base-url",
        url,
        "--quiet",
        check=False,
    )
    assert proc.returncode == 2
    assert url in proc.stderr and "vllm serve" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_bad_input_errors(tmp_path):
    proc = cli("generate", "--out", tmp_path / "x", "--languages", "fr,klingon", check=False)
    assert proc.returncode == 2 and "'klingon'" in proc.stderr and "zh" in proc.stderr
    bad = tmp_path / "run.yaml"
    bad.write_text("languages: [fr\nseed: 1\n", encoding="utf-8")
    proc = cli("generate", "--out", tmp_path / "x", "--config", bad, check=False)
    assert proc.returncode == 2 and f"{bad}:" in proc.stderr and "invalid YAML" in proc.stderr
    secret = tmp_path / "secret.yaml"
    secret.write_text("backend_options: {api_key: sk-123}\n", encoding="utf-8")
    proc = cli("generate", "--out", tmp_path / "x", "--config", secret, check=False)
    assert proc.returncode == 2 and "sk-123" not in proc.stderr and "MOUD_API_KEY" in proc.stderr
    assert not (tmp_path / "x" / "shards").exists()


def test_help_has_an_example():
    proc = cli("generate", "--help")
    assert "examples:" in proc.stdout and "--base-url" in proc.stdout


def test_transformers_backend_end_to_end(tmp_path, tiny_llama_chat):
    args = [
        "generate",
        "--backend",
        "transformers",
        "--model",
        str(tiny_llama_chat),
        "--languages",
        "fr,zh",
        "--dialogues",
        "2",
        "--quiet",
        "--max-batch-size",
        "8",
        "--set",
        "persona.min_sentences=1",
        "--set",
        "persona.sampling.max_tokens=24",
        "--set",
        "common_ground.sampling.max_tokens=40",
        "--set",
        "dialogue.sampling.max_tokens=16",
        "--set",
        "dialogue.min_turns=2",
        "--set",
        "dialogue.max_turns=3",
    ]
    rc = moud_cli.main([*args, "--out", str(tmp_path / "a")])
    rows = read_rows(tmp_path / "a")
    failures = read_rows(tmp_path / "a", "failures")
    made = sum(len(r) for r in rows.values())
    failed = sum(len(r) for r in failures.values())
    assert rc == (0 if made else 2)  # "no dialogue was made" is an error
    # a random-weight model writes no sentence and is cut at max_tokens: its dialogues may all fail
    # (a real model's rows: test_real_model.py), but never silently
    assert made + failed == 4
    assert all(f["step"] and f["reason"] and f["rejected_outputs"] for fs in failures.values() for f in fs)
    for lang_rows in rows.values():
        for r in lang_rows:
            assert validate_row(r) == [] and r["metadata"]["backend"] == "transformers"
            assert r["metadata"]["completion_tokens"] > 0
    # same seed -> same output, with a different batch composition
    assert moud_cli.main([*args, "--out", str(tmp_path / "b"), "--max-batch-size", "3"]) == rc
    assert without_timings(read_rows(tmp_path / "b")) == without_timings(rows)
    assert read_rows(tmp_path / "b", "failures") == failures


def test_sigkill_and_resume_gives_identical_shards(tmp_path):
    worker = ScriptedCrowdworker(malformed_rate=0.1)
    common = [
        "--languages",
        "fr,zh",
        "--dialogues",
        "12",
        "--model",
        "m",
        "--quiet",
        "--concurrency",
        "4",
        "--set",
        "shard_size=3",
    ]
    with FakeOpenAIServer(slowed(worker, 0.003), model="m", log_requests=False) as server:
        cli("generate", "--out", tmp_path / "ref", "--base-url", server.base_url, *common)
        ref_requests = server.count
        server.count = 0
        cmd = [
            sys.executable,
            "-m",
            "moud_cli",
            "generate",
            "--out",
            str(tmp_path / "crash"),
            "--base-url",
            server.base_url,
            *common,
        ]
        for kill_at in (0.8, 1.6):  # two crashes at different points
            proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            deadline = time.time() + kill_at + 30
            while time.time() < deadline and proc.poll() is None:
                shards = list((tmp_path / "crash" / "shards").rglob("*.jsonl"))
                if len(shards) >= (1 if kill_at < 1 else 3):
                    break
                time.sleep(0.02)
            time.sleep(0.1)
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        done_before = len(list((tmp_path / "crash" / "shards").rglob("*.jsonl")))
        assert 0 < done_before < 8, "the kill should land mid-run"
        cli("generate", "--out", tmp_path / "crash", "--base-url", server.base_url, *common)
        crash_requests = server.count
    ref, crashed = read_rows(tmp_path / "ref"), read_rows(tmp_path / "crash")
    assert without_timings(crashed) == without_timings(ref)
    assert read_rows(tmp_path / "crash", "failures") == read_rows(tmp_path / "ref", "failures")
    ids = [r["id"] for rows in crashed.values() for r in rows]
    assert len(ids) == len(set(ids))
    last = json.loads((tmp_path / "crash" / "manifest.json").read_text())["last_run"]
    assert last["cache_hits"] > 0
    # only requests in flight at each kill may be sent twice (4 dialogues x 2 personas at most)
    assert crash_requests - ref_requests <= 2 * 8


def test_inline_filter_records_drops_and_lid_scores(tmp_path, capsys):
    worker = ScriptedCrowdworker()
    english = "Well, honestly I think we should just go to the cinema tonight, what do you say?"

    def sometimes_english(body):
        text = worker(body)
        is_turn = "role-playing" in body["messages"][0]["content"]
        return english if is_turn and body["seed"] % 12 == 0 else text

    with FakeOpenAIServer(sometimes_english, model="m") as server:
        code = moud_cli.main(
            [
                "generate",
                "--out",
                str(tmp_path / "run"),
                "--languages",
                "fr",
                "--dialogues",
                "10",
                "--model",
                "m",
                "--base-url",
                server.base_url,
                "--quiet",
                "--filter",
                "--no-inline-gates",
            ]
        )  # (inline gates would never let the English turn in)
    assert code == 0
    kept = read_rows(tmp_path / "run")["fr"]
    drops = read_rows(tmp_path / "run", "drops")["fr"]
    failed = read_rows(tmp_path / "run", "failures").get("fr", [])
    assert len(kept) + len(drops) + len(failed) == 10 and kept and drops
    # without inline gates persona B is never judged against persona A: the crowdworker's twins (same person
    # drawn twice) are dropped by persona_twin; every other drop is the English turn's
    twins = [d for d in drops if d["gate"] == "persona_twin"]
    assert all(set(d["row"]["persona_a"]) & set(d["row"]["persona_b"]) for d in twins)
    drops = [d for d in drops if d["gate"] != "persona_twin"]
    assert drops and all(english in [t["text"] for t in d["row"]["turns"]] for d in drops)
    assert {d["gate"] for d in drops} <= {"lid", "script"} and all(d["reason"] for d in drops)
    assert all(english not in [t["text"] for t in r["turns"]] for r in kept)
    assert all(len(r["metadata"]["lid_scores"]) == len(r["turns"]) for r in kept)
    assert (
        f"made {len(kept)} dialogues, failed {len(failed)}, dropped {len(drops) + len(twins)} (--filter)"
        in capsys.readouterr().err
    )


def test_show_prompts_renders_without_a_backend(tmp_path, capsys):
    assert moud_cli.main(["generate", "--show-prompts", "--languages", "ja,sw", "--num-demos", "1"]) == 0
    out = capsys.readouterr().out
    assert "######## ja (Japanese)" in out and "######## sw (Swahili)" in out
    assert out.count("==== persona A") == 2 and "Target language: Japanese (日本語)" in out
    assert "Example 1:" in out and "Example 2:" not in out
    assert moud_cli.main(["generate", "--languages", "fr"]) == 2
    assert "--out is required" in capsys.readouterr().err


def test_a_failed_first_attempt_does_not_lock_the_run_folder(tmp_path, capsys):
    """A wrong --model fails before anything is written and leaves no run folder behind (issue #24); the
    corrected command is then accepted (it used to be refused as "different config"). A folder that existed
    before is kept, with its manifest saying the attempt failed."""
    out = tmp_path / "run"
    with FakeOpenAIServer(ScriptedCrowdworker(), model="m") as server:
        base = [
            "generate",
            "--out",
            str(out),
            "--base-url",
            server.base_url,
            "--languages",
            "fr",
            "--dialogues",
            "2",
            "--quiet",
        ]
        assert moud_cli.main([*base, "--model", "typo"]) == 2
        assert "model 'typo' is not served" in capsys.readouterr().err
        assert not out.exists()
        out.mkdir()
        assert moud_cli.main([*base, "--model", "typo"]) == 2
        assert json.loads((out / "manifest.json").read_text())["status"] == "failed"
        assert moud_cli.main([*base, "--model", "m"]) == 0
    assert len(read_rows(out)["fr"]) == 2
