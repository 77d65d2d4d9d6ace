"""OpenAIBackend against a loopback fake server: request format, parsing, retries, errors, secrets."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from generation.testing.fake_openai import FakeOpenAIServer, Reply
from moud_core.backends.base import ChatRequest, SamplingParams
from moud_core.backends.factory import make_backend
from moud_core.backends.openai_http import OpenAIBackend, parse_base_urls
from moud_core.errors import BackendError, ConfigError
from tests.core.backends.helpers import FailFirst, fast_backend, requests_for, run_all, run_one

ANSWERS = {
    "fr": "Bonjour ! J'adore la pâtisserie, surtout les éclairs à la crème.",
    "zh": "你好！我喜欢在周末去公园散步，你呢？",
    "ar": "مرحبا! أنا أحب القراءة كثيرا، وأنت؟",
    "hi": "नमस्ते! मुझे क्रिकेट देखना बहुत पसंद है।",
    "ja": "こんにちは！週末は何をしていますか？🙂",
}
DEAD_URL = "http://127.0.0.1:9/v1"  # discard port: nothing listens there


@pytest.fixture(autouse=True)
def _no_env_key(monkeypatch):
    monkeypatch.delenv("MOUD_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)


def test_multilingual_answers_round_trip_intact():
    with FakeOpenAIServer(responder=lambda body: ANSWERS[body["messages"][-1]["content"]]) as server:
        reqs = [ChatRequest(messages=(("user", lang),), seed=1) for lang in ANSWERS]
        out = run_all(fast_backend(server.base_url), reqs)
    assert [r.text for r in out] == list(ANSWERS.values())
    assert all(r.completion_tokens > 0 and r.prompt_tokens > 0 and r.finish_reason == "stop" for r in out)
    assert all(r.latency_s > 0 for r in out)


def test_request_body_carries_model_sampling_and_seed():
    sampling = SamplingParams(
        temperature=0.7,
        top_p=0.9,
        max_tokens=123,
        repetition_penalty=1.0,
        frequency_penalty=0.1,
        presence_penalty=0.2,
    )
    with FakeOpenAIServer() as server:
        backend = fast_backend(server.base_url, extra_body={"top_k": 40})
        text = "Écris un persona en français, s'il te plaît — 日本語も"
        run_one(
            backend,
            ChatRequest(messages=(("system", "Tu es utile."), ("user", text)), sampling=sampling, seed=42),
        )
        run_one(
            backend, ChatRequest(messages=(("user", "x"),), sampling=SamplingParams(repetition_penalty=1.1))
        )
        first, second = server.requests
    assert first["model"] == "fake-model"
    assert first["messages"] == [
        {"role": "system", "content": "Tu es utile."},
        {"role": "user", "content": text},
    ]
    assert (first["temperature"], first["top_p"], first["max_tokens"], first["seed"]) == (0.7, 0.9, 123, 42)
    assert (first["frequency_penalty"], first["presence_penalty"], first["top_k"]) == (0.1, 0.2, 40)
    assert "repetition_penalty" not in first
    assert second["repetition_penalty"] == 1.1
    assert "Authorization" not in server.headers[0]


def test_system_messages_folded_when_model_has_no_system_role():
    with FakeOpenAIServer() as server:
        backend = fast_backend(server.base_url, system_role=False)
        run_one(
            backend,
            ChatRequest(
                messages=(("system", "Be brief."), ("user", "Hi"), ("assistant", "Hello"), ("user", "Bye"))
            ),
        )
        sent = server.requests[0]["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "user"]
    assert sent[0]["content"] == "Be brief.\n\nHi"


@pytest.mark.parametrize(
    "status,reason_key",
    [(429, "rate_limited"), (500, "server_error"), (502, "server_error"), (408, "timeout")],
)
def test_transient_status_then_success_is_retried(status, reason_key):
    responder = FailFirst(2, Reply(status=status))
    with FakeOpenAIServer(responder=responder) as server:
        backend = fast_backend(server.base_url)
        out = run_one(backend, requests_for(1)[0])
    assert out.text == "message 0"
    assert responder.calls["message 0"] == 3
    stats = backend.stats()
    assert stats["retries"] == 2 and stats["successes"] == 1
    assert stats["errors"] == {reason_key: 2}


def test_retry_after_is_honoured():
    responder = FailFirst(1, Reply(status=429, headers={"Retry-After": "1"}))
    with FakeOpenAIServer(responder=responder) as server:
        backend = fast_backend(server.base_url)
        start = time.monotonic()
        out = run_one(backend, requests_for(1)[0])
        elapsed = time.monotonic() - start
    assert out.text == "message 0"
    assert elapsed >= 1.0, f"retried after {elapsed:.2f}s despite Retry-After: 1"


def test_persistent_500_raises_backend_error_with_reason_and_url():
    with FakeOpenAIServer(responder=lambda body: Reply(status=500)) as server:
        backend = fast_backend(server.base_url, max_retries=3)
        with pytest.raises(BackendError) as info:
            run_one(backend, requests_for(1)[0])
        assert server.count == 4
    assert info.value.reason == "server_error"
    message = str(info.value)
    assert server.base_url in message and "HTTP 500" in message and "4 attempts" in message
    assert "\n" not in message
    assert backend.stats()["failures"] == 1


@pytest.mark.parametrize(
    "bad",
    [
        b'{"id": "x", "choices": [{"message": {"content": "Bonj',
        b'{"id": "x", "choices": []}',
        b'{"error": "oops"}',
        b"<html>502</html>",
    ],
)
def test_malformed_or_choiceless_bodies_are_retried(bad):
    responder = FailFirst(1, Reply(raw=bad))
    with FakeOpenAIServer(responder=responder) as server:
        backend = fast_backend(server.base_url)
        out = run_one(backend, requests_for(1)[0])
    assert out.text == "message 0"
    assert backend.stats()["errors"] == {"bad_response": 1}


def test_malformed_forever_fails_with_bad_response():
    with FakeOpenAIServer(responder=lambda body: Reply(raw=b'{"choices": [')) as server:
        with pytest.raises(BackendError) as info:
            run_one(fast_backend(server.base_url, max_retries=1), requests_for(1)[0])
    assert info.value.reason == "bad_response"


def test_empty_or_null_content_is_an_answer_not_an_error():
    null_body = json.dumps(
        {"choices": [{"message": {"role": "assistant", "content": None}, "finish_reason": "length"}]}
    ).encode()
    with FakeOpenAIServer(responder=lambda body: "" if body["seed"] == 0 else Reply(raw=null_body)) as server:
        backend = fast_backend(server.base_url)
        out = run_all(
            backend,
            [ChatRequest(messages=(("user", "a"),), seed=0), ChatRequest(messages=(("user", "b"),), seed=1)],
        )
        assert server.count == 2
    assert [r.text for r in out] == ["", ""]
    assert out[1].finish_reason == "length"
    assert backend.stats()["retries"] == 0


def test_401_not_retried_and_token_never_leaks(monkeypatch):
    secret = "sk-test-SECRET-1234567890"
    body = json.dumps({"error": {"message": f"Incorrect API key provided: {secret}"}}).encode()
    with FakeOpenAIServer(responder=lambda b: Reply(status=401, raw=body)) as server:
        backend = fast_backend(server.base_url, api_key=secret)
        with pytest.raises(BackendError) as info:
            run_one(backend, requests_for(1)[0])
        assert server.count == 1
        assert server.headers[0]["Authorization"] == f"Bearer {secret}"
    assert info.value.reason == "client_error"
    assert "HTTP 401" in str(info.value) and "***" in str(info.value)
    for text in (str(info.value), json.dumps(backend.stats()), json.dumps(backend.describe()), repr(backend)):
        assert secret not in text


def test_api_key_from_environment(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-openai-env")
    with FakeOpenAIServer() as server:
        run_one(fast_backend(server.base_url), requests_for(1)[0])
        assert server.headers[0]["Authorization"] == "Bearer sk-from-openai-env"
        monkeypatch.setenv("MOUD_API_KEY", "sk-from-moud-env")
        run_one(fast_backend(server.base_url), requests_for(1)[0])
        assert server.headers[1]["Authorization"] == "Bearer sk-from-moud-env"


def test_other_4xx_not_retried():
    with FakeOpenAIServer(responder=lambda body: Reply(status=400)) as server:
        with pytest.raises(BackendError) as info:
            run_one(fast_backend(server.base_url), requests_for(1)[0])
        assert server.count == 1
    assert info.value.reason == "client_error"


def test_timeout_is_retried_then_reported():
    responder = FailFirst(1, Reply(content="late", delay=1.0))
    with FakeOpenAIServer(responder=responder) as server:
        out = run_one(fast_backend(server.base_url, timeout=0.3), requests_for(1)[0])
        assert out.text == "message 0"
    with FakeOpenAIServer(responder=lambda body: Reply(content="late", delay=1.0)) as server:
        with pytest.raises(BackendError) as info:
            run_one(fast_backend(server.base_url, timeout=0.2, max_retries=0), requests_for(1)[0])
    assert info.value.reason == "timeout" and "0.2s" in str(info.value)


def test_dropped_connection_is_retried():
    responder = FailFirst(1, Reply(drop=True))
    with FakeOpenAIServer(responder=responder) as server:
        backend = fast_backend(server.base_url)
        assert run_one(backend, requests_for(1)[0]).text == "message 0"
    assert backend.stats()["errors"] == {"connection_error": 1}


def test_check_unreachable_names_url_and_how_to_start_a_server():
    backend = fast_backend(DEAD_URL)

    async def go():
        try:
            await backend.check()
        finally:
            await backend.aclose()

    with pytest.raises(BackendError) as info:
        asyncio.run(go())
    message = str(info.value)
    assert info.value.reason == "connection_error"
    assert DEAD_URL in message and "connection refused" in message and "vllm serve fake-model" in message


def test_chat_to_unreachable_server_fails_with_connection_error():
    backend = fast_backend(DEAD_URL, max_retries=2)
    with pytest.raises(BackendError) as info:
        run_one(backend, requests_for(1)[0])
    assert info.value.reason == "connection_error" and DEAD_URL in str(info.value)
    assert backend.stats()["endpoints"][0]["healthy"] is False


def test_check_passes_and_rejects_unknown_model():
    with FakeOpenAIServer(model="served-model") as server:
        good = OpenAIBackend("served-model", base_url=server.base_url)
        bad = OpenAIBackend("other-model", base_url=server.base_url)

        async def go():
            await good.check()
            try:
                await bad.check()
            finally:
                await good.aclose()
                await bad.aclose()

        with pytest.raises(BackendError) as info:
            asyncio.run(go())
    assert "'other-model' is not served" in str(info.value) and "served-model" in str(info.value)


def test_backend_survives_a_new_event_loop():
    with FakeOpenAIServer() as server:
        backend = fast_backend(server.base_url)
        assert run_one(backend, requests_for(1)[0]).text == "message 0"
        assert run_one(backend, requests_for(2)[1]).text == "message 1"


def test_factory_urls_and_config_errors():
    backend = make_backend("openai", "m", base_url="http://127.0.0.1:8000/v1/, http://127.0.0.1:8001/v1")
    assert isinstance(backend, OpenAIBackend)
    assert backend.describe()["base_url"] == ["http://127.0.0.1:8000/v1", "http://127.0.0.1:8001/v1"]
    assert parse_base_urls(["http://user:pw@h:1/v1"]) == ["http://user:pw@h:1/v1"]
    assert OpenAIBackend("m", base_url="http://user:pw@h:1/v1").describe()["base_url"] == ["http://h:1/v1"]
    for bad in ("localhost:8000", "", "ftp://x/v1"):
        with pytest.raises(ConfigError, match="base_url"):
            OpenAIBackend("m", base_url=bad)
    with pytest.raises(ConfigError, match="max_concurrency"):
        OpenAIBackend("m", max_concurrency=0)
    with pytest.raises(ConfigError, match="unknown option.*device"):
        make_backend("openai", "m", device="cuda")
