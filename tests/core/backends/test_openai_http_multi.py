"""Many endpoints: least-loaded routing, dead/slow endpoints, AIMD limits; endpoint and retry units."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from generation.testing.fake_openai import FakeOpenAIServer, Reply
from moud_core.backends.http_endpoint import Endpoint, redact_url
from moud_core.backends.http_retry import backoff_delay, parse_retry_after
from tests.core.backends.helpers import fast_backend, requests_for, run_all

DEAD_URL = "http://127.0.0.1:9/v1"


def _by_url(backend):
    return {ep["url"]: ep for ep in backend.stats()["endpoints"]}


def _drive(backend, requests, workers: int):
    """``workers`` concurrent callers (partial load: fewer than the endpoints' combined limits)."""

    async def go():
        pending, results = iter(list(enumerate(requests))), {}

        async def worker():
            for i, req in pending:
                results[i] = await backend.chat(req)

        try:
            await asyncio.gather(*(worker() for _ in range(workers)))
        finally:
            await backend.aclose()
        return [results[i] for i in range(len(requests))]

    return asyncio.run(go())


def test_load_spreads_across_three_servers():
    slowish = lambda body: Reply(content=body["messages"][-1]["content"], delay=0.01)  # noqa: E731
    with FakeOpenAIServer(slowish) as a, FakeOpenAIServer(slowish) as b, FakeOpenAIServer(slowish) as c:
        # Saturated: 300 requests at once over 3 x 8 slots.
        backend = fast_backend([a.base_url, b.base_url, c.base_url], max_concurrency=8)
        out = run_all(backend, requests_for(300))
        counts = [a.count, b.count, c.count]
        assert [r.text for r in out] == [f"message {i}" for i in range(300)]
        assert sum(counts) == 300 and min(counts) >= 60, f"uneven spread {counts}"
        assert [ep["successes"] for ep in backend.stats()["endpoints"]] == counts
        # Partial load: 6 callers could all fit on one endpoint; least-loaded routing still spreads them.
        backend = fast_backend([a.base_url, b.base_url, c.base_url], max_concurrency=8)
        out = _drive(backend, requests_for(150), workers=6)
        counts = [s.count - n for s, n in zip((a, b, c), counts, strict=True)]
        assert [r.text for r in out] == [f"message {i}" for i in range(150)]
        assert min(counts) >= 30, f"uneven spread under partial load {counts}"


def test_dead_endpoint_is_avoided_and_run_completes():
    with FakeOpenAIServer() as a, FakeOpenAIServer() as b:
        urls = [a.base_url, DEAD_URL, b.base_url]
        # Without check(): the first wave hits the dead endpoint once per slot, then it is marked down.
        backend = fast_backend(urls, max_concurrency=4)
        out = run_all(backend, requests_for(200))
        assert [r.text for r in out] == [f"message {i}" for i in range(200)]
        dead = _by_url(backend)[DEAD_URL]
        assert dead["healthy"] is False and dead["successes"] == 0
        assert 1 <= dead["requests"] <= 4 and dead["errors"] == {"connection_error": dead["requests"]}
        assert a.count + b.count == 200

        # With check(): the dead endpoint is known to be down before any request is sent.
        checked = fast_backend(urls, max_concurrency=4)

        async def go():
            try:
                await checked.check()
                return await checked.generate(requests_for(50))
            finally:
                await checked.aclose()

        assert len(asyncio.run(go())) == 50
        assert _by_url(checked)[DEAD_URL]["requests"] == 0


def test_down_endpoint_is_reprobed_after_cooldown():
    ep = Endpoint("http://h:1/v1", max_limit=8, cooldown_s=10.0)
    ep.on_connect_error(now=100.0)
    assert not ep.healthy and not ep.usable(105.0) and ep.usable(110.0)
    assert ep.capacity() == 1  # one probe at a time
    ep.on_connect_error(now=110.0)  # probe failed: cooldown doubles
    assert not ep.usable(125.0) and ep.usable(130.0)
    ep.on_success(0.1, 10, now=130.0)
    assert ep.healthy and ep.capacity() == 8


def test_slow_endpoint_gets_less_traffic():
    with (
        FakeOpenAIServer(lambda body: Reply(content="slow", delay=0.2)) as slow,
        FakeOpenAIServer(lambda body: "fast") as fast,
    ):
        backend = fast_backend([slow.base_url, fast.base_url], max_concurrency=8)
        out = run_all(backend, requests_for(300))
        assert len(out) == 300
        assert fast.count > 4 * slow.count, f"fast {fast.count} vs slow {slow.count}"


def test_all_endpoints_dead_fails_with_connection_error():
    backend = fast_backend([DEAD_URL, "http://127.0.0.1:7/v1"], max_retries=2)
    results = run_all(backend, requests_for(3), return_exceptions=True)
    assert all(getattr(r, "reason", None) == "connection_error" for r in results)


def test_429_storm_halves_the_limit_then_recovers():
    counter = itertools.count()
    # First 40 calls are rate-limited, then everything succeeds.
    responder = lambda body: Reply(status=429) if next(counter) < 40 else "ok"  # noqa: E731
    with FakeOpenAIServer(responder) as server:
        backend = fast_backend(server.base_url, max_concurrency=16)
        out = run_all(backend, requests_for(200))
    assert [r.text for r in out] == ["ok"] * 200
    ep = backend.stats()["endpoints"][0]
    assert ep["limit_decreases"].get("overload", 0) >= 1
    assert ep["errors"] == {"rate_limited": 40}
    assert 1 <= ep["lowest_limit"] < 16
    assert ep["limit"] > ep["lowest_limit"]  # additive increase after the storm


def test_rising_latency_lowers_the_limit():
    counter = itertools.count()
    # Instant for the first 60 answers, then 0.1 s: the endpoint is queueing instead of answering 429.
    responder = lambda body: Reply(content="x" * 8, delay=0.0 if next(counter) < 60 else 0.1)  # noqa: E731
    with FakeOpenAIServer(responder) as server:
        backend = fast_backend(server.base_url, max_concurrency=8, latency_slack_s=0.05, latency_factor=3.0)
        run_all(backend, requests_for(90))
    ep = backend.stats()["endpoints"][0]
    assert ep["limit_decreases"].get("latency", 0) >= 1, ep
    assert ep["limit"] < 8


def test_aimd_unit_rules():
    ep = Endpoint("http://h:1/v1", max_limit=64)
    ep.on_overload(now=1.0, sent_at=0.5)
    assert ep.limit == 32
    for _ in range(50):  # a burst from requests sent before the decrease counts once
        ep.on_overload(now=1.2, sent_at=0.9)
    assert ep.limit == 32
    ep.on_overload(now=2.0, sent_at=1.5)
    assert ep.limit == 16
    for _ in range(16):  # +1 per limit successes
        ep.on_success(0.01, 10, now=3.0)
    assert 16.9 < ep.limit < 17.1
    for _ in range(20):
        ep.on_overload(now=10.0 + _, sent_at=9.9 + _)
    assert ep.limit == 1 and ep.capacity() == 1


def test_latency_rule_ignores_fast_endpoints_and_normalises_by_tokens():
    fast = Endpoint("http://h:1/v1", max_limit=8, latency_slack_s=0.5)
    for i in range(40):  # 1 ms -> 10 ms: relatively slower but far under the slack
        fast.on_success(0.001 if i < 20 else 0.01, 10, now=float(i))
    assert fast.limit == 8
    long_answers = Endpoint("http://h:1/v1", max_limit=8, latency_slack_s=0.1)
    for i in range(40):  # 10x longer answers take 10x longer: same s/token, no decrease
        long_answers.on_success(0.2 if i < 20 else 2.0, 20 if i < 20 else 200, now=float(i))
    assert long_answers.limit == 8


def test_retry_helpers():
    assert parse_retry_after("2") == 2.0
    assert parse_retry_after("bogus") is None and parse_retry_after(None) is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == pytest.approx(10.0)
    assert parse_retry_after("99999") == 300.0
    delays = [backoff_delay(a, 0.5, 30.0, "k") for a in range(8)]
    assert delays == [backoff_delay(a, 0.5, 30.0, "k") for a in range(8)]  # deterministic
    assert all(0.25 * 2**a <= d < 0.5 * 2**a for a, d in enumerate(delays[:5]))
    assert max(delays) <= 30.0
    assert backoff_delay(0, 0.5, 30.0, "k", retry_after=7.0) == 7.0
    assert redact_url("https://user:pw@host:8443/v1") == "https://host:8443/v1"
