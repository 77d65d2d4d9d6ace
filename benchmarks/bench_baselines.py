"""Benchmarks for baselines/: prefix-shared vs independent candidate scoring, and training throughput.

    python -m benchmarks.bench_baselines          # CPU: scoring speedup + tiny-model training tokens/s
    python -m benchmarks.bench_baselines --gpu    # GPU: BLOOM-560M architecture (random init), scoring,
                                                  #      training tokens/s and MFU with and without LoRA
    python -m benchmarks.bench_baselines --gpu --tiny --device cpu --peak-tflops 0.1
                                                  # the --gpu code path on a tiny model on CPU
                                                  # (checks it runs; numbers mean nothing)
    python -m benchmarks.bench_baselines --json runs/bench_baselines.json

Scoring uses XPersona turns (persona + history, gold + 19 distractors) from ``--xpersona DIR`` (default
$MOUD_XPERSONA_DIR, else ../shared/data/xpersona; fr valid) when present, else synthetic French turns of the
same shape (a fresh clone has no ../shared), in two modes that both sides run alike: ``head``
(rank by the classification head; LM statistics for the gold reply only, as ``moud evaluate`` does by
default) and ``lm`` (``--rank-by lm``: LM statistics for every candidate). The three methods (prefix-shared,
20 full sequences as one padded batch, 20 full sequences one by one) are interleaved turn by turn in a
rotating order, so load from other processes hits all of them alike; each of ``--rounds`` passes gives one
speedup, reported as median [min, max]. Nothing is downloaded: models are random-init from a config,
tokenizers are trained on the fly (benchmarks/tiny_models.py). ``--tiny``: 2 x 64 BLOOMs, 2 turns, 1 pass,
1 training step.
"""

from __future__ import annotations

import os
import random
import sys
import tempfile
from pathlib import Path

from benchmarks.baselines_scoring import bench_scoring, scoring_table
from benchmarks.baselines_training import bench_training, mfu, model_shape, training_flops
from benchmarks.harness import finish, parse, parser, skip, xpersona_dir
from benchmarks.tiny_models import make_bloom

__all__ = ["bench_scoring", "bench_training", "main", "mfu", "model_shape", "scoring_table", "training_flops"]
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


def turns(n: int, xpersona: Path | None = None, num_candidates: int = 20) -> tuple[list, str]:
    """The first ``n`` turns with candidates, and where they come from (``xpersona``: default
    ``harness.xpersona_dir()``; synthetic turns when it has no fr valid file, or one too small to draw the
    distractors from)."""
    from baselines.candidates import attach_candidates
    from baselines.data import load_instances
    from moud_core.errors import MoudError
    from moud_core.xpersona import xpersona_languages

    xpersona = xpersona_dir() if xpersona is None else Path(xpersona)
    if xpersona.is_dir() and "fr" in xpersona_languages(xpersona, "valid"):
        inst = load_instances({"type": "xpersona", "path": str(xpersona), "split": "valid"}, ["fr"], "valid")
        try:
            return attach_candidates(inst, num_candidates, 0)[:n], "XPersona fr valid"
        except MoudError:  # too few dialogues for the distractors
            pass
    return attach_candidates(synthetic_turns(), num_candidates, 0)[:n], "synthetic"


def main(argv=None) -> int:
    ap = parser(__doc__, rounds=5)
    ap.add_argument(
        "--gpu",
        action="store_true",
        help="BLOOM-560M architecture (random init): scoring, "
        "training tokens/s and MFU with and without LoRA",
    )
    ap.add_argument("--device", help="device for --gpu (default cuda; cpu with --tiny to test the code path)")
    ap.add_argument("--turns", type=int, default=20, help="turns to score (default 20)")
    ap.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    ap.add_argument("--steps", type=int, default=10, help="timed training steps (default 10)")
    ap.add_argument("--no-train", action="store_true", help="scoring only")
    ap.add_argument("--peak-tflops", type=float, help="device peak bf16 TFLOP/s for MFU")
    ap.add_argument(
        "--xpersona",
        type=Path,
        default=xpersona_dir(),
        help="XPersona folder for the scored turns (default $MOUD_XPERSONA_DIR or ../shared/...; "
        "synthetic turns when it has no fr valid file)",
    )
    args = parse(ap, argv, tiny={"turns": 2, "steps": 1, "threads": 1})
    import torch

    device = (args.device or "cuda") if args.gpu else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        why = "--gpu: no CUDA device (use --tiny --device cpu to exercise the code path)"
        return skip(args, "bench_baselines", "gpu", why)
    torch.set_num_threads(args.threads)
    results: dict = {
        "torch_threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "loadavg_before": os.getloadavg(),
    }
    tiny = dict(hidden=64, layers=2, heads=4)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if args.gpu:
            big = tiny if args.tiny else dict(hidden=1024, layers=24, heads=16, vocab_size=250880)
            model_dir = make_bloom(tmp / "bloom", **big)  # BLOOM-560M's shape (padded vocabulary)
            dtype = torch.bfloat16 if device.startswith("cuda") else None
            results["scoring"] = bench_scoring(
                model_dir, *turns(args.turns, args.xpersona), device, args.rounds
            )
            if not args.no_train:
                items, _ = turns(8 * (args.steps + 2), args.xpersona)
                for key, lora in (("train_full", False), ("train_lora", True)):
                    results[key] = bench_training(
                        model_dir, items, args.steps, 8, 256, lora, device, args.peak_tflops, dtype
                    )
        else:
            small = make_bloom(tmp / "small", **(tiny if args.tiny else dict(hidden=256, layers=4, heads=8)))
            results["scoring"] = bench_scoring(small, *turns(args.turns, args.xpersona), "cpu", args.rounds)
            if not args.no_train:
                tiny_dir = small if args.tiny else make_bloom(tmp / "tiny", **tiny)
                items, _ = turns(4 * (args.steps + 2), args.xpersona)
                for key, lora in (("train_tiny_cpu", False), ("train_tiny_cpu_lora", True)):
                    results[key] = bench_training(
                        tiny_dir, items, args.steps, 4, 128, lora, "cpu", args.peak_tflops
                    )
    results["loadavg_after"] = os.getloadavg()
    lines = [scoring_table(results["scoring"])]
    for key in ("train_full", "train_lora", "train_tiny_cpu", "train_tiny_cpu_lora"):
        if key in results:
            r = results[key]
            extra = f", MFU {100 * r['mfu']:.1f}%" if r["mfu"] is not None else ""
            lines.append(
                f"{key}: {r['tokens_per_s']:,.0f} tokens/s, {r['model_tflops']:.3g} model TFLOP/s{extra} "
                f"({r['device_name']}, {r['dtype']})"
            )
    lines.append(f"load average before/after: {results['loadavg_before']} / {results['loadavg_after']}")
    return finish(args, "bench_baselines", results, "\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
