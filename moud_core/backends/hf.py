"""In-process transformers backend (CPU or GPU): concurrent requests are batched into one ``generate``.

Per-request seeds hold inside a batch: sampling is done with the Gumbel-max trick, drawing each row's
noise from its own ``torch.Generator`` seeded by the request seed, then decoding greedily. Temperature,
top-p and penalties are applied per row, so requests with different sampling parameters share a batch.
A request's tokens never depend on which other requests it was batched with (up to floating-point
effects of padding).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import sys
import time
from pathlib import Path
from unittest import mock

from moud_core.backends.base import Backend, ChatRequest, ChatResponse, fold_system_messages
from moud_core.backends.batching import RequestBatcher
from moud_core.backends.local_models import resolve_local_model
from moud_core.errors import ConfigError


@contextlib.contextmanager
def _no_bars_off_a_tty():
    """No loading bars ("Converting and de-quantizing GGUF tensors") drawn into log files."""
    from transformers.utils import logging as hf_logging

    if sys.stderr.isatty() or not hf_logging.is_progress_bar_enabled():
        yield
        return
    hf_logging.disable_progress_bar()
    try:
        with contextlib.ExitStack() as stack:
            gguf_utils = sys.modules.get("transformers.modeling_gguf_pytorch_utils")
            if gguf_utils is None:
                with contextlib.suppress(ImportError):
                    import transformers.modeling_gguf_pytorch_utils as gguf_utils
            if gguf_utils is not None and hasattr(gguf_utils, "tqdm"):  # it draws its bar with tqdm directly
                stack.enter_context(
                    mock.patch.object(gguf_utils, "tqdm", functools.partial(gguf_utils.tqdm, disable=True))
                )
            yield
    finally:
        hf_logging.enable_progress_bar()


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]


class SeededSampler:
    """LogitsProcessor: per-row penalties, temperature, top-p and seeded Gumbel noise (argmax = sample)."""

    def __init__(self, requests: list[ChatRequest], prompt_len: int, device):
        import torch

        self.torch = torch
        self.prompt_len = prompt_len
        self.params = [r.sampling for r in requests]
        self.generators = []
        for r in requests:
            g = torch.Generator(device="cpu")
            g.manual_seed(int(r.seed))
            self.generators.append(g)
        self.device = device

    def __call__(self, input_ids, scores):
        torch = self.torch
        scores = scores.float()
        generated = input_ids[:, self.prompt_len :]
        out = torch.empty_like(scores)
        for i, p in enumerate(self.params):
            row = scores[i]
            if generated.shape[1] and (
                p.repetition_penalty != 1.0 or p.frequency_penalty or p.presence_penalty
            ):
                prev = generated[i]
                if p.repetition_penalty != 1.0:
                    seen = torch.unique(prev)
                    vals = row[seen]
                    row = row.clone()
                    row[seen] = torch.where(
                        vals > 0, vals / p.repetition_penalty, vals * p.repetition_penalty
                    )
                if p.frequency_penalty or p.presence_penalty:
                    counts = torch.bincount(prev, minlength=row.shape[0])[: row.shape[0]].to(row.dtype)
                    row = row - p.frequency_penalty * counts - p.presence_penalty * (counts > 0).to(row.dtype)
            if p.temperature <= 0:
                out[i] = row
                continue
            row = row / p.temperature
            if p.top_p < 1.0:
                sorted_logits, idx = torch.sort(row, descending=True)
                cum = torch.softmax(sorted_logits, dim=-1).cumsum(-1)
                remove = cum > p.top_p
                remove[1:] = remove[:-1].clone()
                remove[0] = False
                row = row.clone()
                row[idx[remove]] = float("-inf")
            u = torch.rand(row.shape[0], generator=self.generators[i]).to(row.device).clamp_(1e-10, 1 - 1e-10)
            out[i] = row - torch.log(-torch.log(u))
        return out


class TransformersBackend(Backend):
    name = "transformers"

    def __init__(
        self,
        model: str,
        device: str = "auto",
        dtype: str = "auto",
        max_batch_size: int = 16,
        batch_wait_ms: float = 5.0,
        system_role: bool | None = None,
    ):
        super().__init__(model)
        self.source = resolve_local_model(model)  # a folder, a .gguf file or a short name (models.yaml)
        self.device_spec, self.dtype_spec = device, dtype
        self.max_batch_size = max_batch_size
        self.system_role = system_role
        self._batcher = RequestBatcher(self._generate_batch, max_batch_size, batch_wait_ms / 1000)
        self._model = self._tok = None
        self.batches = 0
        self.batched_requests = 0

    # -- loading -------------------------------------------------------------------------------------
    def _load(self) -> None:
        if self._model is not None:
            return
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        dtype = {
            "auto": "auto",
            "float32": torch.float32,
            "bfloat16": torch.bfloat16,
            "float16": torch.float16,
        }.get(self.dtype_spec)
        if dtype is None:
            raise ConfigError(f"--dtype {self.dtype_spec!r}: expected auto, float32, bfloat16 or float16")
        folder, gguf = self.source.folder, self.source.gguf_file
        try:
            with _no_bars_off_a_tty():
                self._tok = AutoTokenizer.from_pretrained(folder, gguf_file=gguf)
                self._model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=gguf, dtype=dtype)
        except OSError as exc:
            raise ConfigError(f"cannot load model {self.model!r}: {_first_line(exc)}") from None
        except Exception as exc:  # a damaged GGUF file fails in many ways inside the reader
            if gguf is None:
                raise
            raise ConfigError(
                f"cannot load model {self.model!r}: GGUF file {Path(folder) / gguf} is damaged or "
                f"unsupported ({type(exc).__name__}: {_first_line(exc)})"
            ) from None
        device = self.device_spec
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        self._device = torch.device(device)
        self._model.to(self._device).eval()
        if self._tok.pad_token_id is None:
            self._tok.pad_token = self._tok.eos_token
        self._tok.padding_side = "left"
        if not getattr(self._tok, "chat_template", None):
            raise ConfigError(
                f"model {self.model!r} has no chat template; use an instruction-tuned chat model"
            )
        if self.system_role is None:
            self.system_role = self._supports_system_role()
        eos = self._model.generation_config.eos_token_id
        eos = list(eos) if isinstance(eos, (list, tuple)) else ([eos] if eos is not None else [])
        if self._tok.eos_token_id is not None and self._tok.eos_token_id not in eos:
            eos.append(self._tok.eos_token_id)
        self._eos = eos

    def _supports_system_role(self) -> bool:
        try:
            text = self._tok.apply_chat_template(
                [{"role": "system", "content": "S\u2063Y"}, {"role": "user", "content": "hi"}], tokenize=False
            )
        except Exception:
            return False
        return "S\u2063Y" in text

    def _render(self, request: ChatRequest) -> str:
        messages = request.message_dicts()
        if not self.system_role:
            messages = fold_system_messages(messages)
        return self._tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)

    # -- batching ------------------------------------------------------------------------------------
    async def check(self) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self._load)

    async def chat(self, request: ChatRequest) -> ChatResponse:
        return await self._batcher.submit(request)

    def _generate_batch(self, requests: list[ChatRequest]) -> list[ChatResponse]:
        import torch
        from transformers import GenerationConfig, LogitsProcessorList

        self._load()
        t0 = time.perf_counter()
        prompts = [self._render(r) for r in requests]
        enc = self._tok(prompts, return_tensors="pt", padding=True, add_special_tokens=False).to(self._device)
        prompt_len = enc["input_ids"].shape[1]
        max_new = max(r.sampling.max_tokens for r in requests)
        gen_config = GenerationConfig(
            do_sample=False,
            max_new_tokens=max_new,
            eos_token_id=self._eos,
            pad_token_id=self._tok.pad_token_id,
        )
        sampler = SeededSampler(requests, prompt_len, self._device)
        with torch.inference_mode():
            out = self._model.generate(
                **enc, generation_config=gen_config, logits_processor=LogitsProcessorList([sampler])
            )
        elapsed = time.perf_counter() - t0
        self.batches += 1
        self.batched_requests += len(requests)
        responses = []
        for i, r in enumerate(requests):
            new = out[i, prompt_len:].tolist()[: r.sampling.max_tokens]
            finish = "length"
            for j, tok in enumerate(new):
                if tok in self._eos:
                    new, finish = new[:j], "stop"
                    break
            new = [t for t in new if t != self._tok.pad_token_id]
            text = self._tok.decode(new, skip_special_tokens=True).strip()
            responses.append(
                ChatResponse(
                    text=text,
                    prompt_tokens=int(enc["attention_mask"][i].sum()),
                    completion_tokens=len(new),
                    finish_reason=finish,
                    latency_s=elapsed,
                )
            )
        return responses

    async def aclose(self) -> None:
        self._batcher.close()

    def describe(self) -> dict:
        info = {"backend": self.name, "model": self.model}
        if self.source.gguf_file:
            info["model_file"] = str(Path(self.source.folder) / self.source.gguf_file)
        return info

    def stats(self) -> dict:
        return {"batches": self.batches, "batched_requests": self.batched_requests}
