"""Fault injection for the fake OpenAI server: wrap a responder so a fraction of answers go wrong.

    faults = FaultInjector(echo_responder, rate=0.2, seed=0, timeout_delay=1.0)
    with FakeOpenAIServer(responder=faults) as server:
        ...                                   # client timeout must be < timeout_delay
    faults.injected                           # Counter: kind -> how many were injected
    faults.answered                           # Counter: request key -> successful answers sent

Whether a call is faulted, and how, is a hash of (seed, request content, how many times that same
request was seen before), so a run is reproducible whatever order concurrent requests arrive in, and a
retried request gets a fresh draw. Kinds:

- ``429``: HTTP 429 (with ``Retry-After: retry_after`` when set);  ``500``: HTTP 500
- ``timeout``: the real answer, but only after ``timeout_delay`` seconds (longer than the client timeout)
- ``truncated_json``: HTTP 200 with the first half of a valid body
- ``empty``: HTTP 200 with empty content (a valid answer, not an error)
- ``slow``: the real answer after ``slow_delay`` seconds (a valid answer)
- ``drop``: the connection is closed without an answer
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import Counter
from collections.abc import Sequence

from generation.testing.replies import Reply, Responder, echo_responder

KINDS = ("429", "500", "timeout", "truncated_json", "empty", "slow", "drop")
ANSWER_KINDS = frozenset({"empty", "slow"})  # faults that still deliver a valid answer


def request_key(body: dict) -> str:
    """Stable identity of a chat request: model, messages, sampling and seed (JSON, sorted keys)."""
    return json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


class FaultInjector:
    """A responder that injects faults into ``rate`` of the calls to ``inner`` (see module docstring)."""

    def __init__(
        self,
        inner: Responder = echo_responder,
        rate: float = 0.2,
        seed: int = 0,
        kinds: Sequence[str] = KINDS,
        timeout_delay: float = 2.0,
        slow_delay: float = 0.05,
        retry_after: float | None = None,
    ):
        unknown = set(kinds) - set(KINDS)
        if unknown or not kinds:
            raise ValueError(f"unknown fault kind(s) {sorted(unknown)}; expected some of {', '.join(KINDS)}")
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"rate must be in [0, 1], got {rate}")
        self.inner, self.rate, self.seed, self.kinds = inner, rate, seed, tuple(kinds)
        self.timeout_delay, self.slow_delay, self.retry_after = timeout_delay, slow_delay, retry_after
        self.calls = 0
        self.injected: Counter = Counter()
        self.answered: Counter = Counter()
        self._seen: Counter = Counter()
        self._lock = threading.Lock()

    def decide(self, key: str, occurrence: int) -> str | None:
        """The fault kind for the ``occurrence``-th sighting of request ``key`` (None = answer normally)."""
        digest = hashlib.sha256(f"{self.seed}|{occurrence}|{key}".encode()).digest()
        if int.from_bytes(digest[:8], "big") / 2**64 >= self.rate:
            return None
        return self.kinds[int.from_bytes(digest[8:12], "big") % len(self.kinds)]

    def __call__(self, body: dict) -> Reply:
        key = request_key(body)
        with self._lock:
            occurrence = self._seen[key]
            self._seen[key] += 1
            self.calls += 1
            kind = self.decide(key, occurrence)
            if kind is not None:
                self.injected[kind] += 1
            if kind is None or kind in ANSWER_KINDS:
                self.answered[key] += 1
        if kind == "429":
            headers = None if self.retry_after is None else {"Retry-After": f"{self.retry_after:g}"}
            return Reply(status=429, headers=headers)
        if kind == "500":
            return Reply(status=500)
        if kind == "drop":
            return Reply(drop=True)
        if kind == "empty":
            return Reply(content="")
        reply = self.inner(body)
        if isinstance(reply, str):
            reply = Reply(content=reply)
        if kind == "timeout":
            reply.delay = max(reply.delay, self.timeout_delay)
        elif kind == "slow":
            reply.delay = max(reply.delay, self.slow_delay)
        elif kind == "truncated_json":
            full = json.dumps(
                {
                    "id": "chatcmpl-x",
                    "object": "chat.completion",
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": reply.content or ""},
                            "finish_reason": "stop",
                        }
                    ],
                },
                ensure_ascii=False,
            ).encode("utf-8")
            reply = Reply(raw=full[: len(full) // 2])
        return reply

    def summary(self) -> dict:
        return {"calls": self.calls, "injected": dict(self.injected), "answered": sum(self.answered.values())}
