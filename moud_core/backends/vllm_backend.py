"""In-process vLLM backend (optional extra: ``pip install moud[vllm]``).

Every request waiting at the moment a batch is formed goes to the engine in one ``LLM.chat`` call:
with many dialogues in flight, the whole wave of next turns is scheduled together, so vLLM's
continuous batching and automatic prefix caching (shared instructions and dialogue histories) apply.
Per-request seeds are passed through vLLM's ``SamplingParams(seed=...)``.
"""

from __future__ import annotations

import asyncio
import time

from moud_core.backends.base import Backend, ChatRequest, ChatResponse, fold_system_messages
from moud_core.backends.batching import RequestBatcher
from moud_core.errors import ConfigError


def vllm_available() -> bool:
    try:
        import vllm  # noqa: F401
    except Exception:
        return False
    return True


class VLLMBackend(Backend):
    name = "vllm"

    def __init__(
        self,
        model: str,
        tensor_parallel_size: int = 1,
        gpu_memory_utilization: float = 0.9,
        max_model_len: int | None = None,
        max_batch_size: int = 4096,
        batch_wait_ms: float = 10.0,
        system_role: bool = True,
        enable_prefix_caching: bool = True,
        dtype: str = "auto",
    ):
        super().__init__(model)
        if not vllm_available():
            raise ConfigError("the vllm backend needs vLLM: pip install 'moud[vllm]' (Linux with a CUDA GPU)")
        self.engine_args = {
            "model": model,
            "tensor_parallel_size": tensor_parallel_size,
            "gpu_memory_utilization": gpu_memory_utilization,
            "dtype": dtype,
            "enable_prefix_caching": enable_prefix_caching,
        }
        if max_model_len:
            self.engine_args["max_model_len"] = max_model_len
        self.system_role = system_role
        self._llm = None
        # everything queued when a batch forms (the whole wave of next turns) goes to the engine at once
        self._batcher = RequestBatcher(
            self._generate, max_batch_size, batch_wait_ms / 1000, "vLLM generation"
        )
        self.batches = 0

    def _load(self):
        if self._llm is None:
            from vllm import LLM

            self._llm = LLM(**self.engine_args)
        return self._llm

    async def check(self) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self._load)

    async def chat(self, request: ChatRequest) -> ChatResponse:
        return await self._batcher.submit(request)

    def _generate(self, requests: list[ChatRequest]) -> list[ChatResponse]:
        from vllm import SamplingParams as VSP

        llm = self._load()
        t0 = time.perf_counter()
        conversations = [
            r.message_dicts() if self.system_role else fold_system_messages(r.message_dicts())
            for r in requests
        ]
        params = [
            VSP(
                temperature=r.sampling.temperature,
                top_p=r.sampling.top_p,
                max_tokens=r.sampling.max_tokens,
                repetition_penalty=r.sampling.repetition_penalty,
                frequency_penalty=r.sampling.frequency_penalty,
                presence_penalty=r.sampling.presence_penalty,
                seed=r.seed,
            )
            for r in requests
        ]
        outputs = llm.chat(conversations, sampling_params=params, use_tqdm=False)
        elapsed = time.perf_counter() - t0
        self.batches += 1
        out = []
        for o in outputs:
            c = o.outputs[0]
            out.append(
                ChatResponse(
                    text=c.text.strip(),
                    prompt_tokens=len(o.prompt_token_ids or []),
                    completion_tokens=len(c.token_ids),
                    finish_reason=c.finish_reason or "stop",
                    latency_s=elapsed,
                )
            )
        return out

    async def aclose(self) -> None:
        self._batcher.close()

    def stats(self) -> dict:
        return {"batches": self.batches}
