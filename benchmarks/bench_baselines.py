"""Benchmarks for baselines/: prefix-shared vs independent candidate scoring, and training throughput.

    python benchmarks/bench_baselines.py                 # CPU: scoring speedup + tiny-model training tokens/s
    python benchmarks/bench_baselines.py --gpu           # GPU: BLOOM-560M architecture (random init), scoring,
                                                         #      training tokens/s and MFU with and without LoRA
    python benchmarks/bench_baselines.py --gpu --tiny --device cpu --peak-tflops 0.1   # the --gpu code path on
                                                         #      a tiny model on CPU (checks it runs; numbers mean nothing)
    python benchmarks/bench_baselines.py --json out.json

Scoring uses XPersona turns (persona + history, gold + 19 distractors) from ../shared/data/xpersona (fr valid)
when present, else synthetic text of the same shape, in two modes that both sides run alike: ``head``
(rank by the classification head; LM statistics for the gold reply only, as ``moud evaluate`` does by
default) and ``lm`` (``--rank-by lm``: LM statistics for every candidate). The three methods (prefix-shared,
20 full sequences as one padded batch, 20 full sequences one by one) are interleaved turn by turn in a
rotating order, so load from other processes hits all of them alike; each of ``--repeats`` passes gives one
speedup, reported as median [min, max]. Nothing is downloaded: models are random-init from a config,
tokenizers are trained on the fly (tests/tiny_models.py).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

XPERSONA = ROOT.parent / "shared" / "data" / "xpersona"
# Peak dense bf16 FLOP/s used for MFU (override with --peak-tflops).
PEAK_TFLOPS = {"H100": 989.0, "H200": 989.0, "A100": 312.0, "L4": 121.0, "A10": 125.0}
METHODS = ("shared", "independent_batched", "independent_one_by_one")


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
    from transformers import BloomConfig, BloomForCausalLM

    from tests.tiny_models import train_tokenizer

    tok = vocab_tok or train_tokenizer()
    torch.manual_seed(0)
    cfg = BloomConfig(vocab_size=len(tok), hidden_size=hidden, n_layer=layers, n_head=heads,
                      bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
    BloomForCausalLM(cfg).save_pretrained(directory)
    tok.save_pretrained(directory)
    return directory


def _sync(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


def _spread(xs: list[float]) -> dict:
    return {"median": statistics.median(xs), "min": min(xs), "max": max(xs)}


def _max_diff(a: dict, b: dict) -> float:
    """Largest |a - b| over the scores both computed; the NaN pattern (LM stats not asked for) must match."""
    import torch

    worst = 0.0
    for key in ("mc", "lm_mean", "nll_sum"):
        if not torch.equal(a[key].isnan(), b[key].isnan()):
            raise AssertionError(f"{key}: computed for different candidates")
        ok = ~a[key].isnan()
        if ok.any():
            worst = max(worst, float((a[key][ok] - b[key][ok]).abs().max()))
    if not torch.equal(a["ntok"], b["ntok"]):
        raise AssertionError("ntok differs")
    return worst


def bench_scoring(model_dir: Path, turns: int, device: str, repeats: int = 5,
                  modes: tuple[str, ...] = ("head", "lm"), warmup: bool = True) -> dict:
    from baselines.model import (
        DialogueEncoder,
        MultitaskConfig,
        build_model,
        load_tokenizer,
        score_independent,
        score_shared_prefix,
    )

    cfg = MultitaskConfig(base_model=str(model_dir), max_length=256)
    model = build_model(cfg).to(device).eval()
    tok = load_tokenizer(str(model_dir))
    enc = DialogueEncoder(tok, cfg)
    items, source = _turns(turns)
    encoded = [(*enc.encode(i.persona, i.history, i.candidates), i.label) for i in items]
    pad = tok.pad_token_id
    methods = {
        "shared": lambda p, s, need: score_shared_prefix(model, p, s, pad, need_lm=need),
        "independent_batched": lambda p, s, need: score_independent(model, p, s, pad, batched=True, need_lm=need),
        "independent_one_by_one": lambda p, s, need: score_independent(model, p, s, pad, batched=False,
                                                                       need_lm=need),
    }
    out = {"source": source, "turns": len(encoded), "candidates": len(encoded[0][1]), "repeats": repeats,
           "warmup_pass": warmup,
           "mean_prefix_tokens": statistics.mean(len(p) for p, _, _ in encoded),
           "mean_candidate_tokens": statistics.mean(len(x) for _, s, _ in encoded for x in s)}
    for mode in modes:
        def need(gold, mode=mode):
            return {gold} if mode == "head" else True

        for fn in methods.values():  # warm-up: one untimed pass (first calls page in fresh memory)
            for p, s, gold in encoded[: None if warmup else 2]:
                fn(p, s, need(gold))
        _sync(device)
        seconds = {m: [] for m in METHODS}
        per_turn = {m: [[] for _ in encoded] for m in METHODS}
        results = {m: [] for m in METHODS}
        for r in range(repeats):
            total = dict.fromkeys(METHODS, 0.0)
            for t, (p, s, gold) in enumerate(encoded):
                k = (t + r) % len(METHODS)
                for m in METHODS[k:] + METHODS[:k]:  # rotating order: no method always runs first
                    start = time.perf_counter()
                    res = methods[m](p, s, need(gold))
                    _sync(device)
                    total[m] += time.perf_counter() - start
                    per_turn[m][t].append(time.perf_counter() - start)
                    if r == 0:
                        results[m].append(res)
            for m in METHODS:
                seconds[m].append(total[m] / len(encoded))
        diff = max(_max_diff(a, b) for m in METHODS[1:] for a, b in zip(results["shared"], results[m], strict=True))
        out[mode] = {
            "s_per_turn": {m: _spread(seconds[m]) for m in METHODS},
            "speedup_vs_batched": _spread([b / a for a, b in zip(seconds["shared"], seconds["independent_batched"],
                                                                 strict=True)]),
            "speedup_vs_one_by_one": _spread([b / a for a, b in zip(seconds["shared"],
                                                                    seconds["independent_one_by_one"], strict=True)]),
            # robust to load spikes: each turn's fastest of the repeats, summed
            "best_of_speedup_vs_batched": sum(map(min, per_turn["independent_batched"])) / sum(map(min, per_turn["shared"])),
            "best_of_speedup_vs_one_by_one": sum(map(min, per_turn["independent_one_by_one"]))
            / sum(map(min, per_turn["shared"])),
            "max_abs_diff": diff}
    return out


def scoring_table(scoring: dict) -> str:
    """One plain-text table of the scoring benchmark."""
    lines = [f"scoring: {scoring['turns']} turns x {scoring['candidates']} candidates ({scoring['source']}), "
             f"mean prefix {scoring['mean_prefix_tokens']:.0f} / candidate {scoring['mean_candidate_tokens']:.0f} "
             f"tokens, {scoring['repeats']} repeats: median [min, max]",
             f"{'mode':<5} {'method':<23} {'s/turn':>22} {'shared speedup':>22} {'best-of':>8} {'max |diff|':>11}"]
    for mode in ("head", "lm"):
        if mode not in scoring:
            continue
        r = scoring[mode]
        for m in METHODS:
            t = r["s_per_turn"][m]
            sp = "" if m == "shared" else r["speedup_vs_batched" if m == "independent_batched" else
                                             "speedup_vs_one_by_one"]
            sp_txt = f"{sp['median']:.2f}x [{sp['min']:.2f}, {sp['max']:.2f}]" if sp else ""
            best = "" if m == "shared" else f"{r['best_of_speedup_vs_' + m.split('_', 1)[1]]:.2f}x"
            lines.append(f"{mode:<5} {m:<23} {t['median']:>7.4f} [{t['min']:.4f}, {t['max']:.4f}] {sp_txt:>22} "
                         f"{best:>8} " + (f"{r['max_abs_diff']:>11.2e}" if m == "shared" else ""))
    return "\n".join(lines)


def training_flops(n_body: int, vocab_hidden: int, n_layer: int, hidden: int, seq_len: int, tokens: int,
                   lm_tokens: int, lora: bool) -> float:
    """Model FLOPs of one forward + backward pass of the multitask model.

    ``n_body``: parameters except the (input and output) embedding matrices; ``vocab_hidden``: size of the
    output projection (LM head), which runs only on the gold candidate's ``lm_tokens``; ``tokens``: real
    tokens of all candidates. Dense matmuls cost 2 FLOPs per weight per token forward and 4 backward (input and
    weight gradients); with LoRA the base weights are frozen, so the weight-gradient half is skipped: 4 instead
    of 6. Attention (QK^T and AV over ``seq_len`` keys) adds 12 * n_layer * hidden * seq_len per token, forward
    + backward, as in the PaLM paper's MFU formula. Padding is not counted."""
    per_weight = 4 if lora else 6
    return (per_weight * n_body * tokens + per_weight * vocab_hidden * lm_tokens
            + 12 * n_layer * hidden * seq_len * tokens)


def mfu(flops: float, seconds: float, peak_tflops: float | None) -> float | None:
    """Model FLOPs utilisation: achieved FLOP/s over the device's peak (None when the peak is unknown)."""
    return flops / seconds / (peak_tflops * 1e12) if peak_tflops else None


def model_shape(hf_model) -> dict:
    """Parameter split and sizes used by ``training_flops`` (tied input/output embeddings counted once)."""
    params = {id(p): p for p in hf_model.parameters()}
    inp = hf_model.get_input_embeddings().weight
    outp = hf_model.get_output_embeddings().weight
    embed = inp.numel() + (0 if outp is inp else outp.numel())
    cfg = hf_model.config
    return {"parameters": sum(p.numel() for p in params.values()),
            "body_parameters": sum(p.numel() for p in params.values()) - embed,
            "vocab_hidden": outp.numel(), "n_layer": cfg.num_hidden_layers, "hidden": cfg.hidden_size}


def _device_name(device: str) -> str:
    import torch

    if device.startswith("cuda"):
        return torch.cuda.get_device_name()
    return f"{platform.processor() or platform.machine()} CPU, {torch.get_num_threads()} torch threads"


def bench_training(model_dir: Path, steps: int, batch: int, max_length: int, lora: bool, device: str,
                   peak_tflops: float | None = None, dtype=None) -> dict:
    """Tokens/s of the multitask forward+backward+step (2 candidates per instance), model TFLOP/s and MFU."""
    import torch

    from baselines.candidates import attach_candidates
    from baselines.model import DialogueEncoder, MultitaskConfig, build_model, load_tokenizer
    from baselines.train import MultitaskDataset, collate

    cfg = MultitaskConfig(base_model=str(model_dir), max_length=max_length, lora=lora)
    model = build_model(cfg, dtype=dtype).to(device).train()
    tok = load_tokenizer(str(model_dir))
    items, _ = _turns(batch * (steps + 2), num_candidates=20)
    items = attach_candidates(items, 2, 0)
    ds = MultitaskDataset(items, DialogueEncoder(tok, cfg))
    batches = [collate([ds[i] for i in range(b * batch, (b + 1) * batch)], tok.pad_token_id) for b in range(steps + 2)]
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-5)
    shape = model_shape(model.hf_model)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    tokens, flops, start = 0, 0.0, None
    for i, b in enumerate(batches):
        if i == 2:  # two warm-up steps
            _sync(device)
            start = time.perf_counter()
        b = {k: v.to(device) for k, v in b.items()}
        loss = model(**b)["loss"]
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        if i >= 2:
            n = int(b["attention_mask"].sum())
            gold = b["attention_mask"][torch.arange(batch), b["mc_labels"]]
            tokens += n
            flops += training_flops(shape["body_parameters"], shape["vocab_hidden"], shape["n_layer"], shape["hidden"],
                                    b["input_ids"].size(-1), n, int(gold.sum()), lora)
    _sync(device)
    seconds = time.perf_counter() - start
    name = _device_name(device)
    peak = peak_tflops or next((v for k, v in PEAK_TFLOPS.items() if k in name), None)
    return {"lora": lora, "device": device, "device_name": name, "dtype": str(next(model.parameters()).dtype),
            "steps": steps, "batch": batch, "candidates": 2, "max_length": max_length, **shape,
            "trainable": trainable, "tokens_per_s": tokens / seconds, "model_tflops": flops / seconds / 1e12,
            "peak_tflops": peak, "mfu": mfu(flops, seconds, peak)}


def _bloom_560m(directory: Path, tiny: bool) -> Path:
    """BLOOM-560M architecture (hidden 1024, 24 layers, 16 heads, vocab 250,880: the real tokenizer's padded
    vocabulary; the trained test tokenizer only uses the first ids), or a 2 x 64 stand-in with ``tiny``."""
    import torch
    from transformers import BloomConfig, BloomForCausalLM

    from tests.tiny_models import train_tokenizer

    tok = train_tokenizer()
    torch.manual_seed(0)
    size = dict(vocab_size=len(tok), hidden_size=64, n_layer=2, n_head=4) if tiny else \
        dict(vocab_size=250880, hidden_size=1024, n_layer=24, n_head=16)
    cfg = BloomConfig(**size, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                      pad_token_id=tok.pad_token_id)
    BloomForCausalLM(cfg).save_pretrained(directory)
    tok.save_pretrained(directory)
    return directory


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gpu", action="store_true", help="BLOOM-560M architecture (random init): scoring, "
                        "training tokens/s and MFU with and without LoRA")
    parser.add_argument("--device", help="device for --gpu (default cuda; cpu with --tiny to test the code path)")
    parser.add_argument("--tiny", action="store_true", help="with --gpu: a 2 x 64 BLOOM instead of BLOOM-560M")
    parser.add_argument("--turns", type=int, default=20, help="turns to score (default 20)")
    parser.add_argument("--repeats", type=int, default=5, help="timed passes over the turns (default 5)")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    parser.add_argument("--steps", type=int, default=10, help="timed training steps (default 10)")
    parser.add_argument("--no-train", action="store_true", help="scoring only")
    parser.add_argument("--peak-tflops", type=float, help="device peak bf16 TFLOP/s for MFU")
    parser.add_argument("--json", help="also write the numbers to this JSON file")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    results: dict = {"torch_threads": torch.get_num_threads(), "cpu_count": os.cpu_count(),
                     "loadavg_before": os.getloadavg()}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if args.gpu:
            device = args.device or "cuda"
            if device.startswith("cuda") and not torch.cuda.is_available():
                print("--gpu: no CUDA device (use --tiny --device cpu to exercise the code path)", file=sys.stderr)
                return 2
            model_dir = _bloom_560m(tmp / "bloom", args.tiny)
            dtype = torch.bfloat16 if device.startswith("cuda") else None
            results["scoring"] = bench_scoring(model_dir, args.turns, device, args.repeats)
            if not args.no_train:
                results["train_full"] = bench_training(model_dir, args.steps, 8, 256, False, device,
                                                       args.peak_tflops, dtype)
                results["train_lora"] = bench_training(model_dir, args.steps, 8, 256, True, device,
                                                       args.peak_tflops, dtype)
        else:
            small = _make_bloom(tmp / "small", hidden=256, layers=4, heads=8)
            results["scoring"] = bench_scoring(small, args.turns, "cpu", args.repeats)
            if not args.no_train:
                tiny = _make_bloom(tmp / "tiny", hidden=64, layers=2, heads=4)
                results["train_tiny_cpu"] = bench_training(tiny, args.steps, 4, 128, False, "cpu", args.peak_tflops)
                results["train_tiny_cpu_lora"] = bench_training(tiny, args.steps, 4, 128, True, "cpu",
                                                                args.peak_tflops)
    results["loadavg_after"] = os.getloadavg()
    print(json.dumps(results, indent=2))
    print(scoring_table(results["scoring"]))
    for key in ("train_full", "train_lora", "train_tiny_cpu", "train_tiny_cpu_lora"):
        if key in results:
            r = results[key]
            extra = f", MFU {100 * r['mfu']:.1f}%" if r["mfu"] is not None else ""
            print(f"{key}: {r['tokens_per_s']:,.0f} tokens/s, {r['model_tflops']:.3g} model TFLOP/s{extra} "
                  f"({r['device_name']}, {r['dtype']})")
    print(f"load average before/after: {results['loadavg_before']} / {results['loadavg_after']}")
    if args.json:
        from moud_core.atomic import atomic_write_text

        atomic_write_text(args.json, json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
