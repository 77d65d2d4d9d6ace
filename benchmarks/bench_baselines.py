"""Benchmarks for baselines/: prefix-shared vs independent candidate scoring, and training throughput.

    python benchmarks/bench_baselines.py                 # CPU: scoring speedup + tiny-model training tokens/s
    python benchmarks/bench_baselines.py --gpu           # GPU: BLOOM-560M architecture (random init), tokens/s
                                                         #      and MFU with and without LoRA
    python benchmarks/bench_baselines.py --json out.json

Scoring uses XPersona-like turns (persona + 5-utterance history, 20 candidates) from
../shared/data/xpersona when present, else synthetic text of the same shape. Nothing is downloaded:
models are random-init from a config, tokenizers are trained on the fly (tests/tiny_models.py).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

XPERSONA = ROOT.parent / "shared" / "data" / "xpersona"
# Peak dense bf16 FLOP/s used for MFU (override with --peak-tflops).
PEAK_TFLOPS = {"H100": 989.0, "H200": 989.0, "A100": 312.0, "L4": 121.0, "A10": 125.0}


def _turns(n: int, num_candidates: int = 20):
    from baselines.candidates import attach_candidates
    from baselines.data import Instance, load_instances

    if XPERSONA.is_dir():
        inst = load_instances({"type": "xpersona", "path": str(XPERSONA), "split": "valid"}, ["fr"], "valid")
        source = "XPersona fr valid"
    else:
        words = "je suis allé au marché avec mon chien et nous avons acheté des fraises".split()
        inst = [Instance("fr", [" ".join(words[:8])] * 4, [" ".join(words)] * 5, " ".join(words[(d % 5):]),
                         f"d{d}", 0, "synthetic") for d in range(200)]
        source = "synthetic"
    return attach_candidates(inst, num_candidates, 0)[:n], source


def _make_bloom(directory: Path, hidden: int, layers: int, heads: int, vocab_tok=None):
    import torch
    from tiny_models import train_tokenizer
    from transformers import BloomConfig, BloomForCausalLM

    tok = vocab_tok or train_tokenizer()
    torch.manual_seed(0)
    cfg = BloomConfig(vocab_size=len(tok), hidden_size=hidden, n_layer=layers, n_head=heads,
                      bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
    BloomForCausalLM(cfg).save_pretrained(directory)
    tok.save_pretrained(directory)
    return directory


def bench_scoring(model_dir: Path, turns: int, device: str) -> dict:
    import torch

    from baselines.model import (
        DialogueEncoder,
        MultitaskConfig,
        build_model,
        load_tokenizer,
        score_independent,
    )

    cfg = MultitaskConfig(base_model=str(model_dir), max_length=256)
    model = build_model(cfg).to(device).eval()
    tok = load_tokenizer(str(model_dir))
    enc = DialogueEncoder(tok, cfg)
    items, source = _turns(turns)
    encoded = [enc.encode(i.persona, i.history, i.candidates) for i in items]

    def timed(fn):
        fn(*encoded[0], tok.pad_token_id)  # warm-up
        if device == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        outs = [fn(p, s, tok.pad_token_id) for p, s in encoded]
        if device == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - start, outs

    t_shared, shared = timed(_score_wrapper(model))
    t_batch, batch = timed(lambda p, s, pad: score_independent(model, p, s, pad, batched=True))
    t_single, single = timed(lambda p, s, pad: score_independent(model, p, s, pad, batched=False))
    diff = max(float((a[k] - b[k]).abs().max()) for x, y in ((shared, batch), (shared, single))
               for a, b in zip(x, y, strict=True) for k in ("mc", "lm_mean", "nll_sum"))
    return {"source": source, "turns": len(encoded), "candidates": len(encoded[0][1]),
            "mean_prefix_tokens": statistics.mean(len(p) for p, _ in encoded),
            "mean_candidate_tokens": statistics.mean(len(x) for _, s in encoded for x in s),
            "shared_s_per_turn": t_shared / len(encoded), "independent_batched_s_per_turn": t_batch / len(encoded),
            "independent_one_by_one_s_per_turn": t_single / len(encoded),
            "speedup_vs_batched": t_batch / t_shared, "speedup_vs_one_by_one": t_single / t_shared,
            "max_abs_diff": diff}


def _score_wrapper(model):
    from baselines import model as bm

    def fn(prefix, suffixes, pad):
        return bm.score_shared_prefix(model, prefix, suffixes, pad)
    return fn


def bench_training(model_dir: Path, steps: int, batch: int, max_length: int, lora: bool, device: str,
                   peak_tflops: float | None = None) -> dict:
    """Tokens/s of the multitask forward+backward+step (2 candidates per instance) and, on GPU, MFU."""
    import torch

    from baselines.candidates import attach_candidates
    from baselines.model import DialogueEncoder, MultitaskConfig, build_model, load_tokenizer
    from baselines.train import MultitaskDataset, collate

    cfg = MultitaskConfig(base_model=str(model_dir), max_length=max_length, lora=lora)
    dtype = torch.bfloat16 if device == "cuda" else None
    model = build_model(cfg, dtype=dtype).to(device).train()
    tok = load_tokenizer(str(model_dir))
    items, _ = _turns(batch * (steps + 2), num_candidates=20)
    items = attach_candidates(items, 2, 0)
    ds = MultitaskDataset(items, DialogueEncoder(tok, cfg))
    batches = [collate([ds[i] for i in range(b * batch, (b + 1) * batch)], tok.pad_token_id) for b in range(steps + 2)]
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-5)
    n_params = sum(p.numel() for p in model.hf_model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    tokens, start = 0, None
    for i, b in enumerate(batches):
        if i == 2:  # two warm-up steps
            if device == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
        b = {k: v.to(device) for k, v in b.items()}
        loss = model(**b)["loss"]
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        if i >= 2:
            tokens += int(b["attention_mask"].sum())
    if device == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    tps = tokens / seconds
    out = {"lora": lora, "device": device, "steps": steps, "batch": batch, "candidates": 2, "max_length": max_length,
           "parameters": n_params, "trainable": trainable, "tokens_per_s": tps}
    if device == "cuda":
        # forward+backward ~ 6 N FLOPs per token for full fine-tuning; with frozen base weights (LoRA) the
        # weight-gradient matmuls are skipped: ~ 4 N. Attention FLOPs are ignored (short sequences).
        flops_per_token = (4 if lora else 6) * n_params
        name = torch.cuda.get_device_name()
        peak = peak_tflops or next((v for k, v in PEAK_TFLOPS.items() if k in name), None)
        out.update({"gpu": name, "model_tflops": flops_per_token * tps / 1e12,
                    "mfu": flops_per_token * tps / (peak * 1e12) if peak else None, "peak_tflops": peak})
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gpu", action="store_true", help="BLOOM-560M architecture on CUDA (random init)")
    parser.add_argument("--turns", type=int, default=30, help="turns to score (default 30)")
    parser.add_argument("--steps", type=int, default=10, help="timed training steps (default 10)")
    parser.add_argument("--peak-tflops", type=float, help="GPU peak bf16 TFLOP/s for MFU")
    parser.add_argument("--json", help="also write the numbers to this JSON file")
    args = parser.parse_args(argv)
    import torch

    results: dict = {"torch_threads": torch.get_num_threads()}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if args.gpu:
            if not torch.cuda.is_available():
                print("--gpu: no CUDA device", file=sys.stderr)
                return 2
            from tiny_models import train_tokenizer

            # BLOOM-560M: hidden 1024, 24 layers, 16 heads, vocab 250,880 (padded vocab of the real tokenizer;
            # the trained tokenizer only uses the first ids).
            tok = train_tokenizer()
            model_dir = tmp / "bloom560m"
            from transformers import BloomConfig, BloomForCausalLM

            torch.manual_seed(0)
            cfg = BloomConfig(vocab_size=250880, hidden_size=1024, n_layer=24, n_head=16,
                              bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                              pad_token_id=tok.pad_token_id)
            BloomForCausalLM(cfg).save_pretrained(model_dir)
            tok.save_pretrained(model_dir)
            results["scoring"] = bench_scoring(model_dir, args.turns, "cuda")
            results["train_full"] = bench_training(model_dir, args.steps, 8, 256, False, "cuda", args.peak_tflops)
            results["train_lora"] = bench_training(model_dir, args.steps, 8, 256, True, "cuda", args.peak_tflops)
        else:
            small = _make_bloom(tmp / "small", hidden=256, layers=4, heads=8)
            results["scoring"] = bench_scoring(small, args.turns, "cpu")
            tiny = _make_bloom(tmp / "tiny", hidden=64, layers=2, heads=4)
            results["train_tiny_cpu"] = bench_training(tiny, args.steps, 4, 128, False, "cpu")
            results["train_tiny_cpu_lora"] = bench_training(tiny, args.steps, 4, 128, True, "cpu")
    print(json.dumps(results, indent=2))
    if args.json:
        from generation.io_utils import atomic_write_text

        atomic_write_text(args.json, json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
