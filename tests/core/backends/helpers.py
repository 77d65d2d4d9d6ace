"""Helpers for the HTTP backend tests: request builders and scripted responders."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter

from generation.testing.fake_openai import Reply, echo_responder
from moud_core.backends.base import ChatRequest, SamplingParams
from moud_core.backends.openai_http import OpenAIBackend


def requests_for(n: int, prefix: str = "message") -> list[ChatRequest]:
    return [
        ChatRequest(messages=(("user", f"{prefix} {i}"),), sampling=SamplingParams(max_tokens=16), seed=i)
        for i in range(n)
    ]


def fast_backend(base_url, **options) -> OpenAIBackend:
    """A backend with test-friendly timings (tiny backoff, short timeout)."""
    options.setdefault("timeout", 5.0)
    options.setdefault("backoff_base_s", 0.005)
    options.setdefault("backoff_max_s", 0.05)
    options.setdefault("cooldown_s", 30.0)
    return OpenAIBackend("fake-model", base_url=base_url, **options)


def run_all(backend: OpenAIBackend, requests, return_exceptions: bool = False):
    """generate() in a fresh loop, closing the backend's session afterwards."""

    async def go():
        try:
            return await backend.generate(requests, return_exceptions=return_exceptions)
        finally:
            await backend.aclose()

    return asyncio.run(go())


def run_one(backend: OpenAIBackend, request: ChatRequest):
    return run_all(backend, [request])[0]


class FailFirst:
    """Responder: the first ``n`` calls per distinct last message get ``reply``; later calls echo."""

    def __init__(self, n: int, reply: Reply):
        self.n, self.reply = n, reply
        self.calls: Counter = Counter()
        self._lock = threading.Lock()

    def __call__(self, body: dict):
        key = body["messages"][-1]["content"]
        with self._lock:
            self.calls[key] += 1
            count = self.calls[key]
        if count <= self.n:
            return Reply(
                content=self.reply.content,
                status=self.reply.status,
                delay=self.reply.delay,
                raw=self.reply.raw,
                drop=self.reply.drop,
                headers=self.reply.headers,
            )
        return echo_responder(body)
