"""Candidate scoring for ``bench_baselines``: prefix-shared (``score_shared_prefix``) against the full
sequences as one padded batch and one by one, interleaved turn by turn in a rotating order, in two modes
(``head``: LM statistics for the gold only; ``lm``: for every candidate)."""

from __future__ import annotations

import statistics
import time
from pathlib import Path

from benchmarks.baselines_training import sync
from benchmarks.harness import spread

METHODS = ("shared", "independent_batched", "independent_one_by_one")


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


def bench_scoring(
    model_dir: Path,
    items: list,
    source: str,
    device: str,
    repeats: int = 5,
    modes: tuple[str, ...] = ("head", "lm"),
    warmup: bool = True,
) -> dict:
    """Seconds per turn of the three scoring methods on ``items`` (turns with candidates, from ``source``)."""
    from baselines.encoder import DialogueEncoder
    from baselines.loading import load_tokenizer
    from baselines.model import MultitaskConfig, build_model
    from baselines.scoring import score_independent, score_shared_prefix

    cfg = MultitaskConfig(base_model=str(model_dir), max_length=256)
    model = build_model(cfg).to(device).eval()
    tok = load_tokenizer(str(model_dir))
    enc = DialogueEncoder(tok, cfg)
    encoded = [(*enc.encode(i.persona, i.history, i.candidates), i.label) for i in items]
    pad = tok.pad_token_id
    methods = {
        "shared": lambda p, s, need: score_shared_prefix(model, p, s, pad, need_lm=need),
        "independent_batched": lambda p, s, need: score_independent(
            model, p, s, pad, batched=True, need_lm=need
        ),
        "independent_one_by_one": lambda p, s, need: score_independent(
            model, p, s, pad, batched=False, need_lm=need
        ),
    }
    out = {
        "source": source,
        "turns": len(encoded),
        "candidates": len(encoded[0][1]),
        "repeats": repeats,
        "warmup_pass": warmup,
        "mean_prefix_tokens": statistics.mean(len(p) for p, _, _ in encoded),
        "mean_candidate_tokens": statistics.mean(len(x) for _, s, _ in encoded for x in s),
    }
    for mode in modes:

        def need(gold, mode=mode):
            return {gold} if mode == "head" else True

        for fn in methods.values():  # warm-up: one untimed pass (first calls page in fresh memory)
            for p, s, gold in encoded[: None if warmup else 2]:
                fn(p, s, need(gold))
        sync(device)
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
                    sync(device)
                    total[m] += time.perf_counter() - start
                    per_turn[m][t].append(time.perf_counter() - start)
                    if r == 0:
                        results[m].append(res)
            for m in METHODS:
                seconds[m].append(total[m] / len(encoded))
        diff = max(
            _max_diff(a, b) for m in METHODS[1:] for a, b in zip(results["shared"], results[m], strict=True)
        )
        out[mode] = {
            "s_per_turn": {m: spread(seconds[m]) for m in METHODS},
            "speedup_vs_batched": spread(
                [b / a for a, b in zip(seconds["shared"], seconds["independent_batched"], strict=True)]
            ),
            "speedup_vs_one_by_one": spread(
                [b / a for a, b in zip(seconds["shared"], seconds["independent_one_by_one"], strict=True)]
            ),
            # robust to load spikes: each turn's fastest of the repeats, summed
            "best_of_speedup_vs_batched": sum(map(min, per_turn["independent_batched"]))
            / sum(map(min, per_turn["shared"])),
            "best_of_speedup_vs_one_by_one": sum(map(min, per_turn["independent_one_by_one"]))
            / sum(map(min, per_turn["shared"])),
            "max_abs_diff": diff,
        }
    return out


def scoring_table(scoring: dict) -> str:
    """One plain-text table of the scoring benchmark."""
    lines = [
        f"scoring: {scoring['turns']} turns x {scoring['candidates']} candidates ({scoring['source']}), "
        f"mean prefix {scoring['mean_prefix_tokens']:.0f} / candidate {scoring['mean_candidate_tokens']:.0f} "
        f"tokens, {scoring['repeats']} repeats: median [min, max]",
        f"{'mode':<5} {'method':<23} {'s/turn':>22} {'shared speedup':>22} {'best-of':>8} {'max |diff|':>11}",
    ]
    for mode in ("head", "lm"):
        if mode not in scoring:
            continue
        r = scoring[mode]
        for m in METHODS:
            t = r["s_per_turn"][m]
            sp = (
                ""
                if m == "shared"
                else r["speedup_vs_batched" if m == "independent_batched" else "speedup_vs_one_by_one"]
            )
            sp_txt = f"{sp['median']:.2f}x [{sp['min']:.2f}, {sp['max']:.2f}]" if sp else ""
            best = "" if m == "shared" else f"{r['best_of_speedup_vs_' + m.split('_', 1)[1]]:.2f}x"
            lines.append(
                f"{mode:<5} {m:<23} {t['median']:>7.4f} [{t['min']:.4f}, {t['max']:.4f}] {sp_txt:>22} "
                f"{best:>8} " + (f"{r['max_abs_diff']:>11.2e}" if m == "shared" else "")
            )
    return "\n".join(lines)
