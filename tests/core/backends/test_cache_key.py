"""The request cache key: sha256 over length-prefixed UTF-8 parts (model, sampling, seed, then each message's
role and content). Caches written by earlier versions stay valid only while this framing is unchanged."""

from __future__ import annotations

import hashlib

from moud_core.backends.base import ChatRequest, SamplingParams


def _framed_sha256(*parts: str) -> str:
    h = hashlib.sha256()
    for part in parts:
        data = part.encode("utf-8")
        h.update(len(data).to_bytes(8, "big"))
        h.update(data)
    return h.hexdigest()


def test_the_cache_key_is_the_sha256_of_the_length_prefixed_parts():
    sampling = SamplingParams(temperature=0.7, max_tokens=64)
    request = ChatRequest(
        (("system", "Écris en français."), ("user", "你好"), ("assistant", "")), sampling, 42
    )
    parts = ["m", sampling.key_text, "42", "system", "Écris en français.", "user", "你好", "assistant", ""]
    assert request.cache_key("m") == _framed_sha256(*parts)


def test_moving_text_between_parts_changes_the_key():
    a = ChatRequest((("user", "ab"), ("user", "c")))
    b = ChatRequest((("user", "a"), ("user", "bc")))
    assert a.cache_key("m") != b.cache_key("m")
    assert a.cache_key("m") != a.cache_key("m2")
    assert a.cache_key("m") != ChatRequest(a.messages, seed=1).cache_key("m")
