"""Training throughput of the multitask baseline for ``bench_baselines``: tokens/s of forward + backward +
optimizer step, model FLOPs (``training_flops``) and MFU against the device's peak bf16 FLOP/s."""

from __future__ import annotations

import platform
import time
from pathlib import Path

# Peak dense bf16 FLOP/s used for MFU (override with --peak-tflops).
PEAK_TFLOPS = {"H100": 989.0, "H200": 989.0, "A100": 312.0, "L4": 121.0, "A10": 125.0}


def sync(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


def training_flops(
    n_body: int,
    vocab_hidden: int,
    n_layer: int,
    hidden: int,
    seq_len: int,
    tokens: int,
    lm_tokens: int,
    lora: bool,
) -> float:
    """Model FLOPs of one forward + backward pass of the multitask model.

    ``n_body``: parameters except the (input and output) embedding matrices; ``vocab_hidden``: size of the
    output projection (LM head), which runs only on the gold candidate's ``lm_tokens``; ``tokens``: real
    tokens of all candidates. Dense matmuls cost 2 FLOPs per weight per token forward and 4 backward
    (input and weight gradients); with LoRA the base weights are frozen, so the weight-gradient half is
    skipped: 4 instead of 6. Attention (QK^T and AV over ``seq_len`` keys) adds
    12 * n_layer * hidden * seq_len per token, forward + backward, as in the PaLM paper's MFU formula.
    Padding is not counted."""
    per_weight = 4 if lora else 6
    return (
        per_weight * n_body * tokens
        + per_weight * vocab_hidden * lm_tokens
        + 12 * n_layer * hidden * seq_len * tokens
    )


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
    return {
        "parameters": sum(p.numel() for p in params.values()),
        "body_parameters": sum(p.numel() for p in params.values()) - embed,
        "vocab_hidden": outp.numel(),
        "n_layer": cfg.num_hidden_layers,
        "hidden": cfg.hidden_size,
    }


def device_name(device: str) -> str:
    import torch

    if device.startswith("cuda"):
        return torch.cuda.get_device_name()
    return f"{platform.processor() or platform.machine()} CPU, {torch.get_num_threads()} torch threads"


def bench_training(
    model_dir: Path,
    items: list,
    steps: int,
    batch: int,
    max_length: int,
    lora: bool,
    device: str,
    peak_tflops: float | None = None,
    dtype=None,
) -> dict:
    """Tokens/s of the multitask forward+backward+step (2 candidates per instance, drawn from ``items``:
    at least ``batch * (steps + 2)`` of them), model TFLOP/s and MFU."""
    import torch

    from baselines.candidates import attach_candidates
    from baselines.encoder import DialogueEncoder
    from baselines.loading import load_tokenizer
    from baselines.model import MultitaskConfig, build_model
    from baselines.trainer import MultitaskDataset, collate

    cfg = MultitaskConfig(base_model=str(model_dir), max_length=max_length, lora=lora)
    model = build_model(cfg, dtype=dtype).to(device).train()
    tok = load_tokenizer(str(model_dir))
    items = attach_candidates(items[: batch * (steps + 2)], 2, 0)
    ds = MultitaskDataset(items, DialogueEncoder(tok, cfg))
    batches = [
        collate([ds[i] for i in range(b * batch, (b + 1) * batch)], tok.pad_token_id)
        for b in range(steps + 2)
    ]
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-5)
    shape = model_shape(model.hf_model)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    tokens, flops, start = 0, 0.0, None
    for i, b in enumerate(batches):
        if i == 2:  # two warm-up steps
            sync(device)
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
            flops += training_flops(
                shape["body_parameters"],
                shape["vocab_hidden"],
                shape["n_layer"],
                shape["hidden"],
                b["input_ids"].size(-1),
                n,
                int(gold.sum()),
                lora,
            )
    sync(device)
    seconds = time.perf_counter() - start
    name = device_name(device)
    peak = peak_tflops or next((v for k, v in PEAK_TFLOPS.items() if k in name), None)
    return {
        "lora": lora,
        "device": device,
        "device_name": name,
        "dtype": str(next(model.parameters()).dtype),
        "steps": steps,
        "batch": batch,
        "candidates": 2,
        "max_length": max_length,
        **shape,
        "trainable": trainable,
        "tokens_per_s": tokens / seconds,
        "model_tflops": flops / seconds / 1e12,
        "peak_tflops": peak,
        "mfu": mfu(flops, seconds, peak),
    }
