"""Chaos: a run SIGKILLed at 10 seeded random moments and resumed each time ends with shards identical
to an uninterrupted run, re-sending only what was in flight at the kills."""

from __future__ import annotations

import random
import signal
import sys
import time

import moud_cli
from generation.testing.crowdworker import ScriptedCrowdworker
from generation.testing.fake_openai import FakeOpenAIServer, Reply
from tests.generation.helpers import read_rows, without_timings
from tests.generation.scale_helpers import leftovers, popen

CONCURRENCY = 4
COMMON = [
    "--languages",
    "fr,zh",
    "--dialogues",
    "10",
    "--model",
    "m",
    "--quiet",
    "--concurrency",
    str(CONCURRENCY),
    "--set",
    "shard_size=2",
]


def test_ten_sigkills_and_resumes_give_identical_shards(tmp_path):
    worker = ScriptedCrowdworker(malformed_rate=0.1)
    rng = random.Random(2024)
    with FakeOpenAIServer(
        lambda body: Reply(content=worker(body), delay=0.002), model="m", log_requests=False
    ) as server:
        url = ["--base-url", server.base_url]
        assert moud_cli.main(["generate", "--out", str(tmp_path / "ref"), *url, *COMMON]) == 0
        ref_requests = server.count
        server.count = 0
        crash = tmp_path / "crash"
        kills = 0
        shard_counts = []
        while kills < 10:
            # kill after a seeded random number of new requests: a random moment while work is in flight
            target = server.count + rng.randint(ref_requests // 40, ref_requests // 10)
            proc = popen("generate", "--out", crash, *url, *COMMON)
            deadline = time.time() + 60
            while server.count < target and proc.poll() is None and time.time() < deadline:
                time.sleep(0.001)
            if proc.poll() is not None:  # finished before the moment came: nothing left to kill
                assert proc.returncode == 0, proc.stderr.read()
                break
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            proc.stderr.close()
            kills += 1
            shard_counts.append(len(list((crash / "shards").rglob("*.jsonl"))))
        assert kills == 10, f"run finished after {kills} kills; make the run longer"
        assert shard_counts[0] < shard_counts[-1] < 10, shard_counts  # kills landed across the run, mid-run
        assert moud_cli.main(["generate", "--out", str(crash), *url, *COMMON]) == 0
        crash_requests = server.count
    ref, crashed = read_rows(tmp_path / "ref"), read_rows(crash)
    assert without_timings(crashed) == without_timings(ref)
    assert read_rows(crash, "failures") == read_rows(tmp_path / "ref", "failures")
    ids = [r["id"] for rows in crashed.values() for r in rows]
    assert len(ids) == len(set(ids))
    assert not leftovers(crash)
    # completed requests are never re-sent: the excess is bounded by what was in flight at the kills
    # (at most CONCURRENCY dialogues x 2 parallel persona requests each)
    excess = crash_requests - ref_requests
    print(
        f"chaos: {ref_requests} requests uninterrupted, {crash_requests} with 10 kills (+{excess})",
        file=sys.stderr,
    )
    assert 0 <= excess <= 10 * 2 * CONCURRENCY
