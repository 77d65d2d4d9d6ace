"""Fault injection: a 20% faulty server still yields one answer per request; injector determinism;
the fake server and the benchmark as subprocesses."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from generation.testing.fake_openai import FakeOpenAIServer, echo_responder
from generation.testing.faults import KINDS, FaultInjector, request_key
from moud_core.backends.base import ChatRequest
from tests import ROOT
from tests.core.backends.helpers import fast_backend, requests_for, run_all


def _faulty_run(n: int, urls_count: int = 1, seed: int = 0):
    injector = FaultInjector(
        echo_responder, rate=0.2, seed=seed, timeout_delay=1.0, slow_delay=0.05, retry_after=0
    )
    servers = [FakeOpenAIServer(injector).start() for _ in range(urls_count)]
    try:
        backend = fast_backend([s.base_url for s in servers], timeout=0.4, max_retries=6, max_concurrency=32)
        reqs = requests_for(n, prefix="Requête n°")
        results = run_all(backend, reqs, return_exceptions=True)
        bodies = [b for s in servers for b in s.requests]
    finally:
        for s in servers:
            s.stop()
    return injector, backend, reqs, results, bodies


def test_twenty_percent_faults_every_request_answered_once():
    injector, backend, reqs, results, bodies = _faulty_run(300)
    assert len(results) == 300
    assert sum(injector.injected.values()) >= 30, injector.summary()
    assert set(injector.injected) >= {"429", "500", "timeout", "truncated_json", "drop"}
    failed = [r for r in results if isinstance(r, Exception)]
    assert all(
        r.reason in {"rate_limited", "server_error", "timeout", "connection_error", "bad_response"}
        for r in failed
    )
    # Each request that succeeded got its own answer (echo, or "" when an empty answer was injected) ...
    for req, res in zip(reqs, results, strict=True):
        if not isinstance(res, Exception):
            assert res.text in (req.messages[-1][1], "")
    # ... and the server delivered exactly one valid answer per successful request: no duplicate sends.
    keys = {request_key(b) for b in bodies}
    assert len(keys) == 300
    answered = [injector.answered[k] for k in keys]
    assert sum(answered) == 300 - len(failed) and max(answered) == 1
    stats = backend.stats()
    assert stats["successes"] == 300 - len(failed) and stats["requests"] == 300
    assert stats["retries"] == injector.calls - 300 == sum(stats["errors"].values()) - len(failed)


def test_faults_across_two_endpoints_complete():
    injector, backend, reqs, results, _ = _faulty_run(150, urls_count=2, seed=3)
    assert sum(1 for r in results if not isinstance(r, Exception)) >= 148
    assert all(ep["successes"] > 0 for ep in backend.stats()["endpoints"])


def test_injector_is_deterministic_and_validates():
    body = {"model": "m", "messages": [{"role": "user", "content": "salut"}], "seed": 1}
    a, b = FaultInjector(rate=0.5, seed=7), FaultInjector(rate=0.5, seed=7)
    seq_a = [a.decide(request_key(body), i) for i in range(200)]
    assert seq_a == [b.decide(request_key(body), i) for i in range(200)]
    assert seq_a != [FaultInjector(rate=0.5, seed=8).decide(request_key(body), i) for i in range(200)]
    rate = sum(k is not None for k in seq_a) / 200
    assert 0.35 < rate < 0.65
    assert set(seq_a) - {None} == set(KINDS)
    assert FaultInjector(rate=0.0).decide("x", 0) is None
    assert FaultInjector(rate=1.0, kinds=("500",)).decide("x", 0) == "500"
    with pytest.raises(ValueError, match="unknown fault kind"):
        FaultInjector(kinds=("explode",))


def test_fake_server_cli_as_subprocess():
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "generation.testing.fake_openai",
            "--port",
            "0",
            "--reply",
            "Salut ! 你好",
            "--model",
            "cli-model",
            "--max-seconds",
            "60",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        assert "fake OpenAI server on http://127.0.0.1:" in line
        url = line.strip().rsplit(" ", 1)[1]
        backend = fast_backend(url)
        backend.model = "cli-model"
        out = run_all(backend, [ChatRequest(messages=(("user", "bonjour"),))])
        assert out[0].text == "Salut ! 你好"
    finally:
        proc.terminate()
        proc.wait(10)


def test_benchmark_script_runs_and_writes_json(tmp_path):
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.bench_http_backend",
            "--requests",
            "300",
            "--warmup",
            "20",
            "--in-flight",
            "32",
            "--servers",
            "2",
            "--rounds",
            "1",
            "--json",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(out.read_text())["results"]
    assert list(report["configs"]) == ["2 server(s)"] and report["failures"] == 0
    for r in report["configs"]["2 server(s)"]["rounds"]:
        assert r["servers"] == 2
        assert r["failures"] == 0 and r["requests_per_s"] > 0 and r["client_cpu_ms_per_request"] > 0
