"""``moud train`` (and ``python -m baselines.cli.train``): parse the options, resolve the training config
and run ``baselines.train.run_training``; print one line per trained model."""

from __future__ import annotations

import argparse
import sys

from moud_core.cli_help import describe

_CLI_KEYS = {  # argparse dest -> config key
    "model": "model",
    "train": "train",
    "languages": "languages",
    "per_language": "per_language",
    "balance": "balance",
    "per_language_cap": "per_language_cap",
    "max_history": "max_history",
    "train_candidates": "train_candidates",
    "max_instances": "max_instances",
    "max_length": "max_length",
    "lm_coef": "lm_coef",
    "mc_coef": "mc_coef",
    "lora": "lora",
    "export": "export",
    "lr": "learning_rate",
    "epochs": "epochs",
    "max_steps": "max_steps",
    "batch_size": "batch_size",
    "grad_accum": "grad_accum",
    "precision": "precision",
    "save_steps": "save_steps",
    "logging_steps": "logging_steps",
    "seed": "seed",
    "out": "out",
    "resume": "resume",
    "gradient_checkpointing": "gradient_checkpointing",
    "threads": "threads",
}


DESCRIPTION = (
    "Fine-tune a causal LM (default bigscience/bloom-560m) TransferTransfo-style: LM loss on "
    "the reply plus a next-utterance classification head, on MOUD, XPersona, PersonaChat "
    "or a mix. Options override the YAML --config."
)
EPILOG = (
    "example:\n  moud train --config baselines/configs/both.yaml --out runs/both\n"
    "  moud train --model ./bloom-560m --train xpersona:XPERSONA_DIR --train moud:moud_out "
    "--languages fr,ja --lora --max-steps 1000 --out runs/mix\n"
    "  moud train --model ./bloom-560m --train xpersona:../shared/data/xpersona@valid --max-steps 50 "
    "--out runs/smoke   # ../shared has the validation files only\n"
    "  moud train --model tiny-bloom --train moud:moud --max-steps 20 --threads 2 --out runs/tiny"
    "   # offline smoke run, meaningless numbers"
)


def build_parser(parser: argparse.ArgumentParser) -> None:
    describe(parser, DESCRIPTION, EPILOG)
    a = parser.add_argument
    a(
        "--config",
        help="YAML config (keys as in baselines/configs/*.yaml; values checked, unknown keys refused)",
    )
    a(
        "--model",
        help="base causal LM: a local folder, a Hub id already in the local cache (nothing is downloaded), "
        "or tiny-bloom / tiny-llama: a 2-layer model built here with a tokenizer trained on the run's own "
        "text, for smoke runs (its results are meaningless)",
    )
    a(
        "--train",
        action="append",
        metavar="TYPE:PATH",
        help="training source (repeatable): moud:DIR (built dataset or shards), xpersona:DIR, "
        "personachat:FILE; append @SPLIT to read another split (e.g. xpersona:DIR@valid)",
    )
    a(
        "--languages",
        help="codes, comma-separated, or 'all' = every language in the sources (default)",
    )
    a("--per-language", action="store_true", default=None, help="one run per language into OUT/<lang>/")
    a("--balance", choices=["none", "cap", "upsample"], help="per-language balancing of the training mix")
    a("--per-language-cap", type=int, help="instances per language for --balance cap/upsample")
    a("--max-history", type=int, help="utterance pairs of history kept (default 2)")
    a("--train-candidates", type=int, help="candidates per training instance, gold included (default 2)")
    a(
        "--max-instances",
        type=int,
        help="train on N instances sampled (seeded) across sources and languages (smoke runs)",
    )
    a("--max-length", type=int, help="max tokens per sequence; history is cut from the left (default 256)")
    a("--lm-coef", type=float, help="LM loss weight (default 2.0)")
    a("--mc-coef", type=float, help="classification loss weight (default 1.0)")
    a("--lora", action=argparse.BooleanOptionalAction, default=None, help="train LoRA adapters + head only")
    a("--export", choices=["adapter", "merged"], help="LoRA export: adapter only (default) or merged model")
    a("--lr", type=float, help="learning rate")
    a("--epochs", type=float, help="epochs (ignored when --max-steps > 0)")
    a("--max-steps", type=int, help="optimizer steps (overrides --epochs)")
    a("--batch-size", type=int, help="instances per device batch")
    a("--grad-accum", type=int, help="gradient accumulation steps")
    a("--precision", choices=["auto", "bf16", "fp16", "fp32"], help="auto: bf16/fp16 when the GPU has it")
    a("--gradient-checkpointing", action="store_true", default=None, help="trade compute for memory")
    a("--save-steps", type=int, help="checkpoint every N steps")
    a("--logging-steps", type=int, help="log every N steps")
    a("--seed", type=int, help="random seed (data order, distractors, init of the head)")
    a("--out", help="output folder (final model, checkpoints, train_summary.json, loss.png)")
    a("--resume", nargs="?", const="auto", help="resume from a checkpoint folder (no value: latest in --out)")
    a("--threads", type=int, help="torch CPU threads (default: leave torch's setting as it is)")
    a("--quiet", action="store_true", help="no progress bars")


def _line(out, s: dict, per_language: bool) -> str:
    tasks = ""
    if s.get("final_mc_loss") is not None:
        tasks = (
            f" (LM {s['final_lm_loss']:.3f}, classification {s['final_mc_loss']:.3f}, "
            f"chance {s['mc_loss_chance']:.3f})"
        )
    speed = "" if per_language else f", {s['tokens_per_second']:.0f} tokens/s"
    tiny = f" [{s['tiny_model']}: {s['note']}]" if s.get("note") else ""
    langs = s["languages"][0] if per_language else ",".join(s["languages"])
    head = f"{langs}: {s['instances']} instances, {s['steps']} steps, loss {s['train_loss']:.4f}"
    return f"{head}{tasks}{speed} -> {out}{tiny}"


def run(args: argparse.Namespace) -> int:
    from baselines.train import resolve_config, run_training

    flags = {
        key: value for dest, key in _CLI_KEYS.items() if (value := getattr(args, dest, None)) is not None
    }
    cfg = resolve_config(args.config, flags)
    run_training(
        cfg,
        quiet=bool(args.quiet) or not sys.stderr.isatty(),
        on_done=lambda out, s: print(_line(out, s, cfg["per_language"])),
    )
    return 0
