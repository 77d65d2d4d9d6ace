"""Benchmarks for baselines/: prefix-shared vs independent candidate scoring, and training throughput.

    python benchmarks/bench_baselines.py          # CPU: scoring speedup + tiny-model training tokens/s
    python benchmarks/bench_baselines.py --gpu    # GPU: BLOOM-560M architecture (random init), scoring,
                                                  #      training tokens/s and MFU with and without LoRA
    python benchmarks/bench_baselines.py --gpu --tiny --device cpu --peak-tflops 0.1
                                                  # the --gpu code path on a tiny model on CPU
                                                  # (checks it runs; numbers mean nothing)
    python benchmarks/bench_baselines.py --json runs/bench_baselines.json

Scoring uses XPersona turns (persona + history, gold + 19 distractors) from ``--xpersona DIR`` (default
$MOUD_XPERSONA_DIR, else ../shared/data/xpersona; fr valid) when present, else synthetic French turns of the
same shape (a fresh clone has no ../shared), in two modes that both sides run alike: ``head``
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
import random
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.baselines_scoring import bench_scoring, scoring_table  # noqa: E402
from benchmarks.baselines_training import bench_training, mfu, model_shape, training_flops  # noqa: E402

__all__ = ["bench_scoring", "bench_training", "main", "mfu", "model_shape", "scoring_table", "training_flops"]
XPERSONA = Path(os.environ.get("MOUD_XPERSONA_DIR", ROOT.parent / "shared" / "data" / "xpersona"))
# Synthetic turns: every ordered pair of these sentences is one reply (30 x 29 distinct replies).
SENTENCES = [
    "Je suis allé au marché ce matin.",
    "Mon chien adore courir dans le parc.",
    "J'ai acheté des fraises.",
    "Nous partons à la mer en août.",
    "Ma sœur habite à Marseille.",
    "Je travaille dans une boulangerie.",
    "Le dimanche, je fais du vélo.",
    "J'apprends le piano depuis un an.",
    "Il pleut souvent à Brest.",
    "Mon plat préféré, c'est la ratatouille.",
    "Je lis un roman policier.",
    "On a regardé un film hier soir.",
    "Je me lève tôt pour courir.",
    "Mes parents ont un jardin.",
    "J'aime beaucoup le fromage de chèvre.",
    "Le train était en retard.",
    "Je cherche un nouvel appartement.",
    "Mon chat dort toute la journée.",
    "Nous avons fêté son anniversaire.",
    "Je prépare un gâteau au chocolat.",
    "Le musée ouvre à dix heures.",
    "J'ai perdu mes clés ce matin.",
    "Mon frère joue au football.",
    "Je voudrais visiter le Japon.",
    "Le café est trop chaud.",
    "Je suis infirmière à Lyon.",
    "Il fait beau aujourd'hui.",
    "Nous allons au concert samedi.",
    "J'écoute souvent du jazz.",
    "Ma grand-mère tricote des pulls.",
]


def synthetic_turns(n_dialogues: int = 200, seed: int = 0) -> list:
    """French turns shaped like XPersona's: a 4-sentence persona, 5 utterances of history, a reply made of
    two sentences (distinct across dialogues, so 19 distractors can be drawn)."""
    from baselines.instance import Instance

    rng = random.Random(seed)
    pairs = rng.sample([(a, b) for a in SENTENCES for b in SENTENCES if a != b], n_dialogues)
    return [
        Instance(
            "fr",
            rng.sample(SENTENCES, 4),
            rng.sample(SENTENCES, 5),
            f"{a} {b}",
            f"synthetic#{d}",
            0,
            "synthetic",
        )
        for d, (a, b) in enumerate(pairs)
    ]


def turns(n: int, xpersona: Path = XPERSONA, num_candidates: int = 20) -> tuple[list, str]:
    """The first ``n`` turns with candidates, and where they come from."""
    from baselines.candidates import attach_candidates
    from baselines.data import load_instances
    from moud_core.xpersona import xpersona_languages

    if Path(xpersona).is_dir() and "fr" in xpersona_languages(xpersona, "valid"):
        inst = load_instances({"type": "xpersona", "path": str(xpersona), "split": "valid"}, ["fr"], "valid")
        source = "XPersona fr valid"
    else:
        inst, source = synthetic_turns(), "synthetic"
    return attach_candidates(inst, num_candidates, 0)[:n], source


def _make_bloom(directory: Path, hidden: int, layers: int, heads: int, vocab_tok=None):
    import torch
    from transformers import BloomConfig, BloomForCausalLM

    from tests.tiny_models import train_tokenizer

    tok = vocab_tok or train_tokenizer()
    torch.manual_seed(0)
    cfg = BloomConfig(
        vocab_size=len(tok),
        hidden_size=hidden,
        n_layer=layers,
        n_head=heads,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
    )
    BloomForCausalLM(cfg).save_pretrained(directory)
    tok.save_pretrained(directory)
    return directory


def _bloom_560m(directory: Path, tiny: bool) -> Path:
    """BLOOM-560M architecture (hidden 1024, 24 layers, 16 heads, vocab 250,880: the real tokenizer's padded
    vocabulary; the trained test tokenizer only uses the first ids), or a 2 x 64 stand-in with ``tiny``."""
    import torch
    from transformers import BloomConfig, BloomForCausalLM

    from tests.tiny_models import train_tokenizer

    tok = train_tokenizer()
    torch.manual_seed(0)
    size = (
        dict(vocab_size=len(tok), hidden_size=64, n_layer=2, n_head=4)
        if tiny
        else dict(vocab_size=250880, hidden_size=1024, n_layer=24, n_head=16)
    )
    cfg = BloomConfig(
        **size, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id
    )
    BloomForCausalLM(cfg).save_pretrained(directory)
    tok.save_pretrained(directory)
    return directory


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--gpu",
        action="store_true",
        help="BLOOM-560M architecture (random init): scoring, "
        "training tokens/s and MFU with and without LoRA",
    )
    parser.add_argument(
        "--device", help="device for --gpu (default cuda; cpu with --tiny to test the code path)"
    )
    parser.add_argument(
        "--tiny", action="store_true", help="with --gpu: a 2 x 64 BLOOM instead of BLOOM-560M"
    )
    parser.add_argument("--turns", type=int, default=20, help="turns to score (default 20)")
    parser.add_argument("--repeats", type=int, default=5, help="timed passes over the turns (default 5)")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    parser.add_argument("--steps", type=int, default=10, help="timed training steps (default 10)")
    parser.add_argument("--no-train", action="store_true", help="scoring only")
    parser.add_argument("--peak-tflops", type=float, help="device peak bf16 TFLOP/s for MFU")
    parser.add_argument("--json", help="also write the numbers to this JSON file")
    parser.add_argument(
        "--xpersona",
        type=Path,
        default=XPERSONA,
        help="XPersona folder for the scored turns (default $MOUD_XPERSONA_DIR or ../shared/...; "
        "synthetic turns when it has no fr valid file)",
    )
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    results: dict = {
        "torch_threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "loadavg_before": os.getloadavg(),
    }
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if args.gpu:
            device = args.device or "cuda"
            if device.startswith("cuda") and not torch.cuda.is_available():
                print(
                    "--gpu: no CUDA device (use --tiny --device cpu to exercise the code path)",
                    file=sys.stderr,
                )
                return 2
            model_dir = _bloom_560m(tmp / "bloom", args.tiny)
            dtype = torch.bfloat16 if device.startswith("cuda") else None
            results["scoring"] = bench_scoring(
                model_dir, *turns(args.turns, args.xpersona), device, args.repeats
            )
            if not args.no_train:
                items, _ = turns(8 * (args.steps + 2), args.xpersona)
                for key, lora in (("train_full", False), ("train_lora", True)):
                    results[key] = bench_training(
                        model_dir, items, args.steps, 8, 256, lora, device, args.peak_tflops, dtype
                    )
        else:
            small = _make_bloom(tmp / "small", hidden=256, layers=4, heads=8)
            results["scoring"] = bench_scoring(small, *turns(args.turns, args.xpersona), "cpu", args.repeats)
            if not args.no_train:
                tiny = _make_bloom(tmp / "tiny", hidden=64, layers=2, heads=4)
                items, _ = turns(4 * (args.steps + 2), args.xpersona)
                for key, lora in (("train_tiny_cpu", False), ("train_tiny_cpu_lora", True)):
                    results[key] = bench_training(
                        tiny, items, args.steps, 4, 128, lora, "cpu", args.peak_tflops
                    )
    results["loadavg_after"] = os.getloadavg()
    print(json.dumps(results, indent=2))
    print(scoring_table(results["scoring"]))
    for key in ("train_full", "train_lora", "train_tiny_cpu", "train_tiny_cpu_lora"):
        if key in results:
            r = results[key]
            extra = f", MFU {100 * r['mfu']:.1f}%" if r["mfu"] is not None else ""
            print(
                f"{key}: {r['tokens_per_s']:,.0f} tokens/s, {r['model_tflops']:.3g} model TFLOP/s{extra} "
                f"({r['device_name']}, {r['dtype']})"
            )
    print(f"load average before/after: {results['loadavg_before']} / {results['loadavg_after']}")
    if args.json:
        from moud_core.atomic import atomic_write_text

        atomic_write_text(args.json, json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
