"""Server faults at a 20% rate (429, 500, timeouts, truncated JSON, empty content, slow answers, dropped
connections): the run completes, every dialogue is made or recorded as failed with a reason, no duplicates."""

from __future__ import annotations

import json

import moud_cli
from generation.testing.crowdworker import ScriptedCrowdworker
from generation.testing.fake_openai import FakeOpenAIServer
from generation.testing.faults import KINDS, FaultInjector
from moud_core.schema import make_row_id
from tests.generation.helpers import read_rows
from tests.generation.scale_helpers import leftovers

FAST_RETRIES = [
    "--timeout",
    "0.4",
    "--set",
    "backend_options.max_retries=2",
    "--set",
    "backend_options.backoff_base_s=0.01",
    "--set",
    "backend_options.backoff_max_s=0.05",
    "--set",
    "backend_options.cooldown_s=0.05",
]


def _generate(out, base_url: str) -> int:
    """``moud generate`` of 12 dialogues in fr and ja against ``base_url``, retrying fast; its exit status."""
    languages = ["--languages", "fr,ja", "--dialogues", "12", "--model", "m", "--quiet"]
    options = ["--concurrency", "24", "--set", "shard_size=4", *FAST_RETRIES]
    return moud_cli.main(["generate", "--out", str(out), "--base-url", base_url, *languages, *options])


def test_twenty_percent_faults_every_dialogue_made_or_failed_once(tmp_path):
    faults = FaultInjector(ScriptedCrowdworker(), rate=0.2, seed=7, timeout_delay=1.0, slow_delay=0.05)
    out = tmp_path / "run"
    with FakeOpenAIServer(faults, model="m", log_requests=False) as server:
        rc = _generate(out, server.base_url)
    assert rc == 0
    assert set(faults.injected) == set(KINDS), faults.injected  # every kind of fault happened
    assert 0.15 < sum(faults.injected.values()) / faults.calls < 0.25
    rows, failures = read_rows(out), read_rows(out, "failures")
    for lang in ("fr", "ja"):
        made = [r["id"] for r in rows.get(lang, [])]
        failed = [f["id"] for f in failures.get(lang, [])]
        assert sorted(made + failed) == [make_row_id(lang, i) for i in range(12)]  # each exactly once
        assert not set(made) & set(failed)
    all_failures = [f for fs in failures.values() for f in fs]
    assert all(f["reason"] and f["step"] in ("persona", "common_ground", "dialogue") for f in all_failures)
    # retries exhausted on server faults are recorded with the backend's reason tag
    assert any(
        f["reason"] in ("rate_limited", "server_error", "timeout", "connection_error", "bad_response")
        for f in all_failures
    ), "with max_retries=2 some requests should fail for good"
    assert sum(len(r) for r in rows.values()) >= 12  # most dialogues still made
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "partial"  # backend failures are left to retry, not final
    assert manifest["last_run"]["failed"] == len(all_failures)
    assert all(
        f["retryable"] for f in all_failures if f["reason"] in ("rate_limited", "server_error", "timeout")
    )
    assert not leftovers(out)
    # against a healthy server the same command retries exactly the backend failures, and the run completes
    retryable = {f["id"] for f in all_failures if f["retryable"]}
    with FakeOpenAIServer(ScriptedCrowdworker(), model="m", log_requests=False) as server:
        rc = _generate(out, server.base_url)
    assert rc == 0
    rows_after, failures_after = read_rows(out), read_rows(out, "failures")
    made_after = {r["id"] for rs in rows_after.values() for r in rs}
    assert retryable <= made_after
    assert {r["id"] for rs in rows.values() for r in rs} <= made_after  # nothing made before is lost
    assert not any(f["retryable"] for fs in failures_after.values() for f in fs)
    assert json.loads((out / "manifest.json").read_text())["status"] == "complete"
