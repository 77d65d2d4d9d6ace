"""The scripted server's failure injection (generation/testing/slips.py), its CLI flags and lifetime, the
crowdworker's refusal of languages it does not write, and reasoning returned apart from the content."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter

import pytest

import moud_cli
from generation.prompts import PromptSet
from generation.testing.crowdworker import BANK, LANGUAGES, ScriptedCrowdworker
from generation.testing.fake_openai import FakeOpenAIServer, Reply
from generation.testing.slips import APPLIES, KINDS, REALISTIC, SlipInjector, load_injections, parse_rates
from moud_core.languages import get_language
from moud_core.taxonomy import load_speech_events
from tests import ROOT
from tests.generation.helpers import read_rows

PROMPTS = PromptSet.load()
EVENT = load_speech_events()[0]


def turn_body(code: str, seed: int) -> dict:
    history = [(False, BANK[code]["utterance"][0] if code in BANK else "Habari?")]
    msgs = PROMPTS.dialogue_messages(get_language(code), ["Je suis Léa."], "CG", EVENT, history)
    return {"model": "m", "messages": msgs, "seed": seed}


def persona_body(code: str, seed: int) -> dict:
    return {
        "model": "m",
        "messages": PROMPTS.persona_messages(get_language(code), ["food/dish"], 5, []),
        "seed": seed,
    }


@pytest.mark.parametrize("kind", [k for k in KINDS if k in APPLIES["turn"]])
def test_each_turn_slip_is_injected_and_recorded(kind):
    slips = SlipInjector(rates={kind: 1.0})
    for code in LANGUAGES:
        clean = ScriptedCrowdworker()(turn_body(code, 1))
        reply = slips(turn_body(code, 1))
        inj = slips.injections[-1]
        assert inj.kind == kind and inj.language == code and reply.content != clean
        assert inj.found_in(reply.content) and not inj.found_in(clean)
        assert (reply.finish_reason == "length") == (
            kind == "truncation" or reply.content.startswith("<think>") and "</think>" not in reply.content
        )


def test_persona_slips_and_rates():
    slips = SlipInjector(rates={"english_persona": 1.0})
    reply = slips(persona_body("zh", 3))
    assert reply.content.startswith("1. ") and slips.injections[-1].found_in(
        "My name is Emily and I live in Chicago."
    ) == ("Emily" in reply.content)
    realistic = SlipInjector(rates=REALISTIC, seed=1)
    for seed in range(2000):
        realistic(turn_body("fr", seed))
    share = sum(realistic.counts().values()) / 2000
    assert 0.16 < share < 0.24  # about 20% of turns
    assert set(realistic.counts()) == set(APPLIES["turn"])


def test_injection_is_deterministic_per_request():
    a, b = SlipInjector(seed=5), SlipInjector(seed=5)
    bodies = [turn_body("ja", s) for s in range(300)]
    assert [a(x).content if isinstance(a(x), Reply) else a(x) for x in bodies] == [
        b(x).content if isinstance(b(x), Reply) else b(x) for x in bodies
    ]


def test_parse_rates():
    assert parse_rates("realistic") == REALISTIC
    assert parse_rates("think=0.2, label=0.1") == {"think": 0.2, "label": 0.1}
    for bad in ("thinking=0.1", "think=2", "think", "think=x"):
        with pytest.raises(ValueError):
            parse_rates(bad)
    with pytest.raises(ValueError, match="more than 1"):
        SlipInjector(rates={"think": 0.6, "label": 0.6})


def generate_ungated(out, languages: str, dialogues: int, model: str, base_url: str) -> int:
    """``moud generate`` without inline gates (what the server's slips do to a run without them)."""
    return moud_cli.main(
        ["generate", "--out", str(out), "--languages", languages, "--dialogues", str(dialogues)]
        + ["--model", model, "--base-url", base_url, "--quiet", "--no-inline-gates"]
    )


def test_crowdworker_refuses_languages_it_does_not_write(tmp_path):
    worker = ScriptedCrowdworker()
    reply = worker(turn_body("sw", 0))
    assert reply.status == 400 and "Swahili (sw)" in reply.error and "fr" in reply.error
    assert ScriptedCrowdworker(fallback_language="fr")(turn_body("sw", 0)) in BANK["fr"]["utterance"]
    with FakeOpenAIServer(worker, model="demo") as server:
        code = generate_ungated(str(tmp_path / "run"), "sw,fr", 2, "demo", server.base_url)
    assert code == 0
    failures = read_rows(tmp_path / "run", "failures")
    assert len(failures["sw"]) == 2 and not read_rows(tmp_path / "run")["sw"]
    assert all(f["reason"] == "client_error" and "no text for Swahili" in f["detail"] for f in failures["sw"])
    assert len(read_rows(tmp_path / "run")["fr"]) == 2


def test_reasoning_content_is_counted_never_parsed_and_reasoning_only_fails(tmp_path):
    """A server returning reasoning apart from the content (vLLM --reasoning-parser): its tokens are counted
    in the row; an answer with reasoning and no content is a recorded failure, never an empty turn."""
    worker = ScriptedCrowdworker()

    def thinking(body):
        return Reply(content=worker(body), reasoning="Let me think about a French answer. " * 3)

    with FakeOpenAIServer(thinking, model="m") as server:
        assert generate_ungated(str(tmp_path / "a"), "fr", 1, "m", server.base_url) == 0
    row = read_rows(tmp_path / "a")["fr"][0]
    assert row["metadata"]["reasoning_tokens"] > 0
    assert not any("think" in t["text"] for t in row["turns"])
    with FakeOpenAIServer(
        lambda body: Reply(content="", reasoning="Hmm. I am still thinking."), model="m"
    ) as server:
        assert generate_ungated(str(tmp_path / "b"), "fr", 1, "m", server.base_url) == 2
    assert not read_rows(tmp_path / "b")["fr"]
    failure = read_rows(tmp_path / "b", "failures")["fr"][0]
    assert failure["step"] == "persona" and failure["reason"] == "reasoning_only" and not failure["retryable"]
    assert {r["gate"] for r in failure["rejected_outputs"]} == {"reasoning"}


def test_server_cli_injects_records_and_says_when_it_stops(tmp_path):
    record = tmp_path / "injected.jsonl"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "generation.testing.fake_openai",
            "--crowdworker",
            "--port",
            "0",
            "--model",
            "demo",
            "--inject",
            "label=0.5,think=0.5",
            "--inject-record",
            str(record),
            "--max-seconds",
            "20",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        url = proc.stdout.readline().strip().rsplit(" ", 1)[1]
        assert "stops after 20 s (--max-seconds)" in proc.stdout.readline()
        assert generate_ungated(str(tmp_path / "run"), "de", 2, "demo", url) == 0
        proc.terminate()
        _, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert "stopped after" in err and "interrupted" in err
    kinds = Counter(i.kind for i in load_injections(record))
    assert kinds["label"] > 0 and kinds["think"] > 0
    helps = subprocess.run(
        [sys.executable, "-m", "generation.testing.fake_openai", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    assert "default 3600" in helps and "--inject" in helps
    bad = subprocess.run(
        [sys.executable, "-m", "generation.testing.fake_openai", "--crowdworker", "--inject", "thinking=0.1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2 and "thinking=0.1" in bad.stderr


def test_server_stops_after_max_seconds_and_says_so():
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "generation.testing.fake_openai", "--port", "0", "--max-seconds", "1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0 and time.perf_counter() - t0 < 30
    assert "--max-seconds 1 reached" in proc.stderr


def test_server_on_a_port_in_use_exits_at_once_naming_the_port():
    """Started in the background (``&``) on a taken port, it must not hang or look alive (issue #24)."""
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        t0 = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "generation.testing.fake_openai", "--port", str(port)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        took = time.perf_counter() - t0
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and f"127.0.0.1:{port}" in proc.stderr and "in use" in proc.stderr
    assert "Traceback" not in proc.stderr and not proc.stdout
    assert took < 10  # the interpreter's start-up included; the server itself gives up at once


def test_loopback_server_start_raises_the_bind_error():
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        t0 = time.perf_counter()
        with pytest.raises(OSError):
            FakeOpenAIServer(port=taken.getsockname()[1]).start()
        assert time.perf_counter() - t0 < 1


def test_inline_gates_keep_injected_slips_out_of_rows_deterministically(tmp_path):
    """English turns and personas, <think> blocks and truncation injected into 40% of answers: none reaches
    a row, every rejection is recorded, and the same seed gives the same rows (rejections included)."""
    import asyncio

    from generation.config import load_run_config
    from generation.run_output import prepare_output
    from generation.scheduler import GenerationRun
    from generation.testing.local_backend import ResponderBackend
    from moud_core.languages import load_registry

    rates = {"english_turn": 0.1, "think": 0.1, "truncation": 0.1, "english_persona": 0.1}

    def run(out):
        cfg = load_run_config(None, {"languages": ["fr", "zh"], "dialogues_per_language": 6, "seed": 1})
        prepare_output(out, cfg)
        slips = SlipInjector(rates=rates, seed=3)
        asyncio.run(
            GenerationRun(cfg, out, ResponderBackend(slips), load_registry(), ["fr", "zh"], quiet=True).run()
        )
        return slips

    slips = run(tmp_path / "a")
    run(tmp_path / "b")
    rows = read_rows(tmp_path / "a")
    assert rows == read_rows(tmp_path / "b")
    kept = [r for rs in rows.values() for r in rs]
    assert len(kept) >= 10 and sum(slips.counts().values()) > 20
    for r in kept:
        texts = [*r["persona_a"], *r["persona_b"], r["common_ground"], *(t["text"] for t in r["turns"])]
        assert not [i.kind for t in texts for i in slips.found_in(t)], r["id"]
    gates = {x["gate"] for r in kept for x in r["metadata"]["rejected_outputs"]}
    assert {"reasoning", "truncation", "lid"} <= gates
    assert all(
        r["metadata"]["inline_gates"]
        and r["metadata"]["num_requests"] == sum(r["metadata"]["step_attempts"].values())
        for r in kept
    )
