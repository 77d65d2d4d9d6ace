"""Reasoning returned apart from the content (vLLM ``reasoning`` / ``reasoning_content``): never returned as
text, its tokens counted (reported or estimated), and kept by the request cache (old caches upgraded)."""

from __future__ import annotations

import asyncio
import json
import sqlite3

from aiohttp import web

from generation.testing.fake_openai import FakeOpenAIServer, Reply
from moud_core.backends.cache import CachedBackend
from moud_core.backends.openai_wire import reasoning_tokens as _reasoning_tokens
from tests.core.backends.helpers import fast_backend, requests_for, run_one


def test_reasoning_is_counted_not_returned():
    reasoning = "Let me think. " * 20
    with FakeOpenAIServer(lambda body: Reply(content="Bonjour !", reasoning=reasoning)) as server:
        resp = run_one(fast_backend(server.base_url), requests_for(1)[0])
    assert resp.text == "Bonjour !" and "think" not in resp.text
    assert 0 < resp.reasoning_tokens <= resp.completion_tokens
    # reported counts win; the newer field name counts too; no reasoning, no tokens
    assert _reasoning_tokens({}, {"completion_tokens_details": {"reasoning_tokens": 7}}, 20, 5) == 7
    assert _reasoning_tokens({"reasoning": "x" * 30}, {}, 40, 10) == 30
    assert _reasoning_tokens({"content": "ok"}, {}, 40, 2) == 0


def test_cache_keeps_reasoning_tokens_and_upgrades_an_old_cache(tmp_path):
    path = tmp_path / "cache.sqlite"
    with sqlite3.connect(path) as db:  # a cache written before reasoning was counted
        db.execute(
            "CREATE TABLE responses (key TEXT PRIMARY KEY, text TEXT NOT NULL, prompt_tokens INTEGER NOT "
            "NULL, completion_tokens INTEGER NOT NULL, finish_reason TEXT NOT NULL, latency_s REAL NOT NULL)"
        )
    with FakeOpenAIServer(
        lambda body: Reply(content="", reasoning="Hmm, still thinking about it.")
    ) as server:
        backend = CachedBackend(fast_backend(server.base_url), path)

        async def twice():
            try:
                return [await backend.chat(requests_for(1)[0]) for _ in range(2)]
            finally:
                await backend.aclose()

        first, again = asyncio.run(twice())
        assert server.count == 1
    assert again.cached and again.text == "" and again.reasoning_tokens == first.reasoning_tokens > 0


def test_reasoning_only_answer_from_a_vllm_shaped_body():
    """The body vLLM sends with --reasoning-parser when the budget ran out while thinking."""

    class Raw(FakeOpenAIServer):
        async def _chat(self, request):
            body = {
                "choices": [
                    {
                        "index": 0,
                        "finish_reason": "length",
                        "message": {
                            "role": "assistant",
                            "content": None,
                            "reasoning": "The user wants a French greeting. " * 5,
                        },
                    }
                ],
                "usage": {"prompt_tokens": 12, "completion_tokens": 64},
            }
            return web.Response(text=json.dumps(body), content_type="application/json")

    with Raw() as server:
        resp = run_one(fast_backend(server.base_url), requests_for(1)[0])
    assert resp.text == "" and resp.finish_reason == "length" and resp.reasoning_tokens == 64
