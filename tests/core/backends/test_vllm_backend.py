"""In-process vLLM backend: runs only where vLLM (and a GPU) is available; elsewhere the clear error."""

from __future__ import annotations

import asyncio

import pytest

from moud_core.backends.base import ChatRequest, SamplingParams
from moud_core.backends.vllm_backend import VLLMBackend, vllm_available
from moud_core.errors import ConfigError


@pytest.mark.skipif(vllm_available(), reason="vLLM is installed: the missing-extra error does not apply")
def test_missing_vllm_is_a_clear_error():
    with pytest.raises(ConfigError, match=r"pip install 'moud\[vllm\]'"):
        VLLMBackend("some/model")


@pytest.mark.skipif(
    not vllm_available(), reason="vLLM not installed (optional extra: pip install 'moud[vllm]')"
)
def test_vllm_backend_batches_a_wave_with_per_request_seeds(tiny_llama_chat):
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("vLLM needs a CUDA GPU")
    backend = VLLMBackend(str(tiny_llama_chat), gpu_memory_utilization=0.2, max_model_len=1024)
    sp = SamplingParams(max_tokens=8)
    reqs = [
        ChatRequest.from_messages([{"role": "user", "content": f"Bonjour {i}"}], sp, seed=i)
        for i in range(16)
    ]

    async def go():
        try:
            first = await backend.generate(reqs)
            again = await backend.generate([reqs[3]])
            return first, again
        finally:
            await backend.aclose()

    first, again = asyncio.run(go())
    assert backend.batches <= 3  # the 16 concurrent requests went to the engine together
    assert first[3].text == again[0].text
    assert all(r.completion_tokens > 0 for r in first)
