"""``moud train``: fine-tune the multitask baseline (LM + next-utterance classification) on MOUD,
XPersona, PersonaChat or a mix, with transformers.Trainer."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from moud_core.errors import ConfigError, MoudError
from moud_core.yamlio import load_yaml

DEFAULTS: dict = {
    "model": "bigscience/bloom-560m",
    "train": [],                 # sources: "type:path" or {type, path, split, language}
    "languages": None,           # list or "fr,ja"; None = every language in the sources
    "per_language": False,       # one run per language (OUT/<lang>/) instead of one multilingual run
    "balance": "none",           # none | cap | upsample
    "per_language_cap": None,    # instances per language for cap/upsample
    "max_history": 2,            # utterance pairs of history (2 * max_history + 1 utterances)
    "train_candidates": 2,       # gold + distractors per training instance (TransferTransfo: 2)
    "max_instances": None,       # keep only the first N instances after balancing (smoke runs)
    "max_length": 256,
    "max_reply_tokens": 64,
    "lm_coef": 2.0,
    "mc_coef": 1.0,
    "lora": False,
    "lora_r": 16,
    "lora_alpha": 32,
    "lora_dropout": 0.05,
    "export": "adapter",         # LoRA only: adapter | merged
    "learning_rate": 6.25e-5,
    "epochs": 1.0,
    "max_steps": -1,
    "batch_size": 4,
    "grad_accum": 8,
    "warmup_steps": 0,
    "weight_decay": 0.0,
    "precision": "auto",         # auto | bf16 | fp16 | fp32
    "gradient_checkpointing": False,
    "save_steps": 500,
    "save_total_limit": 2,
    "logging_steps": 10,
    "seed": 42,
    "out": None,
    "resume": None,              # checkpoint folder, or "auto" for the latest in OUT
}

_CLI_KEYS = {  # argparse dest -> config key
    "model": "model", "train": "train", "languages": "languages", "per_language": "per_language",
    "balance": "balance", "per_language_cap": "per_language_cap", "max_history": "max_history",
    "train_candidates": "train_candidates", "max_instances": "max_instances", "max_length": "max_length",
    "lm_coef": "lm_coef", "mc_coef": "mc_coef", "lora": "lora", "export": "export", "lr": "learning_rate",
    "epochs": "epochs", "max_steps": "max_steps", "batch_size": "batch_size", "grad_accum": "grad_accum",
    "precision": "precision", "save_steps": "save_steps", "logging_steps": "logging_steps", "seed": "seed",
    "out": "out", "resume": "resume", "gradient_checkpointing": "gradient_checkpointing",
}


def build_parser(parser: argparse.ArgumentParser) -> None:
    parser.description = ("Fine-tune a causal LM (default bigscience/bloom-560m) TransferTransfo-style: LM loss on "
                          "the reply plus a next-utterance classification head, on MOUD, XPersona, PersonaChat "
                          "or a mix. Options override the YAML --config.")
    parser.epilog = ("example:\n  moud train --config baselines/configs/both.yaml --out runs/both\n"
                     "  moud train --model ./bloom-560m --train xpersona:../shared/data/xpersona "
                     "--train moud:moud_out --languages fr,ja --lora --max-steps 1000 --out runs/mix")
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    a = parser.add_argument
    a("--config", help="YAML config (keys as in baselines/configs/*.yaml)")
    a("--model", help="base causal LM: a local folder or Hub id available offline")
    a("--train", action="append", metavar="TYPE:PATH",
      help="training source (repeatable): moud:DIR (built dataset or shards), xpersona:DIR, personachat:FILE; "
           "append @SPLIT to read another split (e.g. xpersona:DIR@valid)")
    a("--languages", help="comma-separated language codes (default: all in the sources)")
    a("--per-language", action="store_true", default=None, help="one run per language into OUT/<lang>/")
    a("--balance", choices=["none", "cap", "upsample"], help="per-language balancing of the training mix")
    a("--per-language-cap", type=int, help="instances per language for --balance cap/upsample")
    a("--max-history", type=int, help="utterance pairs of history kept (default 2)")
    a("--train-candidates", type=int, help="candidates per training instance, gold included (default 2)")
    a("--max-instances", type=int, help="train on the first N instances only (smoke runs)")
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
    a("--quiet", action="store_true", help="no progress bars")


def resolve_config(args: argparse.Namespace) -> dict:
    cfg = dict(DEFAULTS)
    if getattr(args, "config", None):
        data = load_yaml(args.config)
        if not isinstance(data, dict):
            raise ConfigError(f"{args.config}: expected a mapping of training options")
        unknown = sorted(set(data) - set(DEFAULTS))
        if unknown:
            raise ConfigError(f"{args.config}: unknown key(s) {', '.join(unknown)}; "
                              f"expected some of {', '.join(DEFAULTS)}")
        cfg.update(data)
    for dest, key in _CLI_KEYS.items():
        value = getattr(args, dest, None)
        if value is not None:
            cfg[key] = value
    if isinstance(cfg["languages"], str):
        cfg["languages"] = [c.strip() for c in cfg["languages"].split(",") if c.strip()]
    if not cfg["train"]:
        raise ConfigError("no training data: give --train TYPE:PATH or 'train:' in the config")
    if not cfg["out"]:
        raise ConfigError("no output folder: give --out DIR or 'out:' in the config")
    return cfg


# --------------------------------------------------------------------------------------- dataset

class MultitaskDataset:
    """Instances with candidates -> token features, encoded lazily."""

    def __init__(self, instances, encoder):
        self.instances, self.encoder = instances, encoder

    def __len__(self):
        return len(self.instances)

    def __getitem__(self, i):
        inst = self.instances[i]
        prefix, suffixes = self.encoder.encode(inst.persona, inst.history, inst.candidates)
        seqs = [prefix + s for s in suffixes]
        gold = seqs[inst.label]
        labels = [-100] * len(prefix) + suffixes[inst.label]
        assert len(labels) == len(gold)
        return {"seqs": seqs, "lm_labels": labels, "mc_label": inst.label}


def collate(features: list[dict], pad_id: int):
    import torch

    b, c = len(features), len(features[0]["seqs"])
    width = max(len(s) for f in features for s in f["seqs"])
    ids = torch.full((b, c, width), pad_id, dtype=torch.long)
    mask = torch.zeros((b, c, width), dtype=torch.long)
    labels = torch.full((b, width), -100, dtype=torch.long)
    last = torch.zeros((b, c), dtype=torch.long)
    for i, f in enumerate(features):
        for j, s in enumerate(f["seqs"]):
            ids[i, j, : len(s)] = torch.tensor(s)
            mask[i, j, : len(s)] = 1
            last[i, j] = len(s) - 1
        labels[i, : len(f["lm_labels"])] = torch.tensor(f["lm_labels"])
    return {"input_ids": ids, "attention_mask": mask, "lm_labels": labels, "mc_token_ids": last,
            "mc_labels": torch.tensor([f["mc_label"] for f in features], dtype=torch.long)}


def _trainer_class():
    from transformers import Trainer

    class MultitaskTrainer(Trainer):
        """Saves/loads the multitask model (adapter or full weights + head) in checkpoints."""

        tokens_seen = 0

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            self.tokens_seen += int(inputs["attention_mask"].sum())
            out = model(**inputs)
            return (out["loss"], out) if return_outputs else out["loss"]

        def _save(self, output_dir=None, state_dict=None):
            output_dir = output_dir or self.args.output_dir
            self.accelerator.unwrap_model(self.model).save(output_dir, self.processing_class, export="adapter")

        def _load_from_checkpoint(self, resume_from_checkpoint, model=None):
            (model or self.model).load_weights(resume_from_checkpoint)

    return MultitaskTrainer


def _precision(name: str) -> dict:
    import torch

    if name == "fp32" or (name == "auto" and not torch.cuda.is_available()):
        return {}
    if name == "bf16" or (name == "auto" and torch.cuda.is_bf16_supported()):
        return {"bf16": True}
    return {"fp16": True}


def train_one(cfg: dict, out: Path, languages: list[str] | None, quiet: bool = False) -> dict:
    """Train one model on ``languages`` (None: all) and save it to ``out``; returns the summary."""
    import torch
    from transformers import TrainingArguments, set_seed
    from transformers.trainer_utils import get_last_checkpoint

    from baselines.candidates import attach_candidates
    from baselines.data import mix_sources
    from baselines.model import DialogueEncoder, MultitaskConfig, build_model, load_tokenizer

    set_seed(cfg["seed"])
    instances = mix_sources(cfg["train"], languages, "train", cfg["max_history"], cfg["balance"],
                            cfg["per_language_cap"], cfg["seed"])
    instances = attach_candidates(instances, cfg["train_candidates"], cfg["seed"])
    if cfg["max_instances"]:
        instances = instances[: cfg["max_instances"]]
    if not instances:
        raise MoudError("no training instances after loading and balancing")
    mcfg = MultitaskConfig(base_model=cfg["model"], lm_coef=cfg["lm_coef"], mc_coef=cfg["mc_coef"],
                           max_length=cfg["max_length"], max_reply_tokens=cfg["max_reply_tokens"],
                           lora=bool(cfg["lora"]), lora_r=cfg["lora_r"], lora_alpha=cfg["lora_alpha"],
                           lora_dropout=cfg["lora_dropout"])
    tokenizer = load_tokenizer(cfg["model"])
    model = build_model(mcfg)
    encoder = DialogueEncoder(tokenizer, mcfg)
    args = TrainingArguments(
        output_dir=str(out), per_device_train_batch_size=cfg["batch_size"],
        gradient_accumulation_steps=cfg["grad_accum"], learning_rate=cfg["learning_rate"],
        num_train_epochs=cfg["epochs"], max_steps=cfg["max_steps"], warmup_steps=cfg["warmup_steps"],
        weight_decay=cfg["weight_decay"], logging_steps=cfg["logging_steps"], save_steps=cfg["save_steps"],
        save_total_limit=cfg["save_total_limit"], seed=cfg["seed"], data_seed=cfg["seed"],
        report_to="none", remove_unused_columns=False, disable_tqdm=quiet, label_names=["mc_labels"],
        activation_checkpointing=bool(cfg["gradient_checkpointing"]), save_only_model=False,
        dataloader_num_workers=0, dataloader_pin_memory=torch.cuda.is_available(), **_precision(cfg["precision"]))
    trainer = _trainer_class()(model=model, args=args, train_dataset=MultitaskDataset(instances, encoder),
                               data_collator=lambda f: collate(f, tokenizer.pad_token_id),
                               processing_class=tokenizer)
    resume = cfg["resume"]
    if resume == "auto":
        resume = get_last_checkpoint(str(out)) if out.is_dir() else None
        if resume is None:
            print(f"moud train: no checkpoint in {out}; starting from scratch", file=sys.stderr)
    elif resume and not Path(resume).is_dir():
        raise MoudError(f"--resume {resume}: checkpoint folder not found")
    start = time.perf_counter()
    result = trainer.train(resume_from_checkpoint=resume)
    seconds = time.perf_counter() - start
    model.save(out, tokenizer, export=cfg["export"])
    history = [h for h in trainer.state.log_history if "loss" in h]
    summary = {
        "config": {k: v for k, v in cfg.items()}, "languages": sorted({i.language for i in instances}),
        "instances": len(instances), "per_language": _count(instances), "steps": trainer.state.global_step,
        "train_loss": result.training_loss, "seconds": seconds,
        "tokens_per_second": trainer.tokens_seen / seconds if seconds else None,
        "trainable_parameters": sum(p.numel() for p in model.parameters() if p.requires_grad),
        "total_parameters": sum(p.numel() for p in model.parameters()),
        "loss_history": history, "device": "cuda" if torch.cuda.is_available() else "cpu",
    }
    from moud_core.atomic import atomic_write_text

    atomic_write_text(out / "train_summary.json", json.dumps(summary, indent=2, ensure_ascii=False, default=str))
    _plot_loss(history, out / "loss.png")
    return summary


def _count(instances) -> dict:
    counts: dict[str, int] = {}
    for i in instances:
        counts[i.language] = counts.get(i.language, 0) + 1
    return dict(sorted(counts.items()))


def _plot_loss(history: list[dict], path: Path) -> None:
    if not history:
        return
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot([h["step"] for h in history], [h["loss"] for h in history], marker=".")
    ax.set_xlabel("step")
    ax.set_ylabel("training loss (lm_coef*LM + mc_coef*MC)")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    tmp = path.with_name(f".{path.stem}.tmp.png")
    fig.savefig(tmp, dpi=120)
    plt.close(fig)
    tmp.replace(path)


def run(args: argparse.Namespace) -> int:
    cfg = resolve_config(args)
    out = Path(cfg["out"])
    quiet = bool(getattr(args, "quiet", False)) or not sys.stderr.isatty()
    if cfg["per_language"]:
        from baselines.data import parse_source, source_languages

        langs = cfg["languages"] or sorted({lang for s in cfg["train"]
                                            for lang in source_languages(parse_source(s), "train")})
        for lang in langs:
            s = train_one(cfg, out / lang, [lang], quiet)
            print(f"{lang}: {s['instances']} instances, {s['steps']} steps, loss {s['train_loss']:.4f} -> {out / lang}")
    else:
        s = train_one(cfg, out, cfg["languages"], quiet)
        print(f"{','.join(s['languages'])}: {s['instances']} instances, {s['steps']} steps, "
              f"loss {s['train_loss']:.4f}, {s['tokens_per_second']:.0f} tokens/s -> {out}")
    return 0
