"""Transformers backend: batching, per-request seeds inside batches, system-role folding."""

from __future__ import annotations

import asyncio
import shutil

import pytest

from moud_core.backends.base import ChatRequest, SamplingParams
from moud_core.backends.hf import TransformersBackend
from moud_core.errors import ConfigError

GEMMA_LIKE = (
    "{% for m in messages %}{% if m['role'] == 'system' %}"
    "{{ raise_exception('System role not supported') }}{% endif %}"
    "<|{{ m['role'] }}|>\n{{ m['content'] }}<|end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)


def _requests(n, max_tokens=10, temperature=0.8):
    sp = SamplingParams(max_tokens=max_tokens, temperature=temperature)
    return [
        ChatRequest.from_messages(
            [
                {"role": "system", "content": "Tu es Léa, de Lyon."},
                {"role": "user", "content": f"Bonjour {i} ! 你好"},
            ],
            sp,
            seed=100 + i,
        )
        for i in range(n)
    ]


def test_batching_keeps_per_request_seeds(tiny_llama_chat):
    backend = TransformersBackend(str(tiny_llama_chat), max_batch_size=8, device="cpu")
    reqs = _requests(6)

    async def go():
        together = await backend.generate(reqs)
        alone = await backend.generate([reqs[4]])
        other = await backend.generate([reqs[1], reqs[4], reqs[0]])
        greedy = await backend.generate(_requests(2, temperature=0.0))
        return together, alone, other, greedy

    together, alone, other, greedy = asyncio.run(go())
    assert backend.system_role is True
    assert backend.batches >= 3 and backend.batched_requests == 12
    assert together[4].text == alone[0].text == other[1].text
    assert len({r.text for r in together}) > 1  # different seeds, different samples
    assert all(0 < r.completion_tokens <= 10 and r.prompt_tokens > 0 for r in together)
    assert greedy[0].completion_tokens > 0


def test_system_role_is_folded_for_models_without_one(tiny_llama_chat, tmp_path):
    model_dir = tmp_path / "gemma-like"
    shutil.copytree(tiny_llama_chat, model_dir)
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_dir)
    tok.chat_template = GEMMA_LIKE
    tok.save_pretrained(model_dir)
    backend = TransformersBackend(str(model_dir), device="cpu")
    resp = asyncio.run(backend.chat(_requests(1)[0]))
    assert backend.system_role is False and resp.completion_tokens > 0
    rendered = backend._render(_requests(1)[0])
    assert "Tu es Léa" in rendered and "<|system|>" not in rendered


def test_missing_model_path_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="no such file or folder"):
        TransformersBackend(str(tmp_path / "nope"))
