"""``moud train`` as functions: resolve the training config (defaults, then a YAML file, then flags, field by
field, checked), then fine-tune the multitask baseline (LM + next-utterance classification) on MOUD, XPersona,
PersonaChat or a mix with ``transformers.Trainer``: one multilingual run, or one run per language."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from baselines.settings import check_rules, language_list, merge_layers
from moud_core.errors import ConfigError, MoudError
from moud_core.yamlio import load_yaml

DEFAULTS: dict = {
    "model": "bigscience/bloom-560m",
    "train": [],  # sources: "type:path" or {type, path, split, language}
    "languages": None,  # list or "fr,ja"; None = every language in the sources
    "per_language": False,  # one run per language (OUT/<lang>/) instead of one multilingual run
    "balance": "none",  # none | cap | upsample
    "per_language_cap": None,  # instances per language for cap/upsample
    "max_history": 2,  # utterance pairs of history (2 * max_history + 1 utterances)
    "train_candidates": 2,  # gold + distractors per training instance (TransferTransfo: 2)
    "max_instances": None,  # keep only the first N instances after balancing (smoke runs)
    "max_length": 256,
    "max_reply_tokens": 64,
    "lm_coef": 2.0,
    "mc_coef": 1.0,
    "lora": False,
    "lora_r": 16,
    "lora_alpha": 32,
    "lora_dropout": 0.05,
    "export": "adapter",  # LoRA only: adapter | merged
    "learning_rate": 6.25e-5,
    "epochs": 1.0,
    "max_steps": -1,
    "batch_size": 4,
    "grad_accum": 8,
    "warmup_steps": 0,
    "weight_decay": 0.0,
    "precision": "auto",  # auto | bf16 | fp16 | fp32
    "gradient_checkpointing": False,
    "save_steps": 500,
    "save_total_limit": 2,
    "logging_steps": 10,
    "seed": 42,
    "out": None,
    "resume": None,  # checkpoint folder, or "auto" for the latest in OUT
}
# the kind each field must have where the default is None (languages: a list or "fr,ja", checked apart)
_TYPES = {**DEFAULTS, "per_language_cap": 0, "max_instances": 0, "out": "", "resume": ""}
_RULES = {
    **dict.fromkeys("max_history max_steps".split(), ("int", -1)),
    **dict.fromkeys("warmup_steps seed".split(), ("int", 0)),
    **dict.fromkeys(
        "train_candidates max_reply_tokens lora_r batch_size grad_accum save_steps logging_steps".split(),
        ("int", 1),
    ),
    "max_length": ("int", 8),
    **dict.fromkeys("per_language_cap max_instances save_total_limit".split(), ("optional_int", 1)),
    **dict.fromkeys(
        "lm_coef mc_coef lora_alpha lora_dropout learning_rate epochs weight_decay".split(), ("number", 0)
    ),
    "balance": ("choice", ("none", "cap", "upsample")),
    "export": ("choice", ("adapter", "merged")),
    "precision": ("choice", ("auto", "bf16", "fp16", "fp32")),
}
_FLOATS = [k for k, v in DEFAULTS.items() if isinstance(v, float)]


def _yaml_numbers(data: dict) -> dict:
    """YAML reads ``1e-4`` (no dot) as a string: make such strings numbers in the number fields."""
    out = dict(data)
    for key in _FLOATS:
        if isinstance(out.get(key), str):
            try:
                out[key] = float(out[key])
            except ValueError:
                pass  # refused below with the field's name
    return out


def resolve_config(config_file: str | None, flags: dict) -> dict:
    """The training config: ``DEFAULTS``, then ``config_file``, then ``flags`` (options given on the
    command line)."""
    layers = []
    if config_file:
        data = load_yaml(config_file)
        if not isinstance(data, dict):
            raise ConfigError(f"{config_file}: expected a mapping of training options")
        layers.append((_yaml_numbers(data), config_file))
    layers.append((flags, "command line"))
    cfg, origins = merge_layers(DEFAULTS, layers, _TYPES)
    check_rules(cfg, _RULES, origins)
    cfg["languages"] = language_list(cfg["languages"], origins.get("languages", "defaults"))
    if not cfg["train"]:
        raise ConfigError("no training data: give --train TYPE:PATH or 'train:' in the config")
    if not cfg["out"]:
        raise ConfigError("no output folder: give --out DIR or 'out:' in the config")
    from baselines.data import parse_source

    for source in cfg["train"]:
        parse_source(source)  # a malformed source fails before any loading
    return cfg


def _instances(cfg: dict, languages: list[str] | None) -> list:
    from baselines.candidates import attach_candidates
    from baselines.data import mix_sources

    instances = mix_sources(
        cfg["train"],
        languages,
        "train",
        cfg["max_history"],
        cfg["balance"],
        cfg["per_language_cap"],
        cfg["seed"],
    )
    instances = attach_candidates(instances, cfg["train_candidates"], cfg["seed"])
    if cfg["max_instances"]:
        instances = instances[: cfg["max_instances"]]
    if not instances:
        raise MoudError("no training instances after loading and balancing")
    return instances


def _resume_from(resume: str | None, out: Path) -> str | None:
    from transformers.trainer_utils import get_last_checkpoint

    if resume == "auto":
        found = get_last_checkpoint(str(out)) if out.is_dir() else None
        if found is None:
            print(f"moud train: no checkpoint in {out}; starting from scratch", file=sys.stderr)
        return found
    if resume and not Path(resume).is_dir():
        raise MoudError(f"--resume {resume}: checkpoint folder not found")
    return resume


def train_one(cfg: dict, out: Path, languages: list[str] | None, quiet: bool = False) -> dict:
    """Train one model on ``languages`` (None: all) and save it to ``out``; returns the summary."""
    import torch
    from transformers import set_seed

    from baselines.encoder import DialogueEncoder
    from baselines.loading import load_tokenizer
    from baselines.model import MultitaskConfig, build_model
    from baselines.trainer import MultitaskDataset, collate, trainer_class, training_arguments
    from moud_core.atomic import atomic_write_text
    from moud_core.outdir import os_errors, prepare_out_dir

    set_seed(cfg["seed"])
    instances = _instances(cfg, languages)
    resume = _resume_from(cfg["resume"], out)
    out = prepare_out_dir(out)
    mcfg = MultitaskConfig(
        base_model=cfg["model"],
        lm_coef=cfg["lm_coef"],
        mc_coef=cfg["mc_coef"],
        max_length=cfg["max_length"],
        max_reply_tokens=cfg["max_reply_tokens"],
        lora=bool(cfg["lora"]),
        lora_r=cfg["lora_r"],
        lora_alpha=cfg["lora_alpha"],
        lora_dropout=cfg["lora_dropout"],
    )
    tokenizer = load_tokenizer(cfg["model"])
    model = build_model(mcfg)
    encoder = DialogueEncoder(tokenizer, mcfg)
    trainer = trainer_class()(
        model=model,
        args=training_arguments(cfg, out, quiet),
        train_dataset=MultitaskDataset(instances, encoder),
        data_collator=lambda f: collate(f, tokenizer.pad_token_id),
        processing_class=tokenizer,
    )
    start = time.perf_counter()
    with os_errors(out):
        result = trainer.train(resume_from_checkpoint=resume)
        seconds = time.perf_counter() - start
        model.save(out, tokenizer, export=cfg["export"])
    history = [h for h in trainer.state.log_history if "loss" in h]
    summary = {
        "config": dict(cfg),
        "languages": sorted({i.language for i in instances}),
        "instances": len(instances),
        "per_language": _count(instances),
        "steps": trainer.state.global_step,
        "train_loss": result.training_loss,
        "seconds": seconds,
        "tokens_per_second": trainer.tokens_seen / seconds if seconds else None,
        "trainable_parameters": sum(p.numel() for p in model.parameters() if p.requires_grad),
        "total_parameters": sum(p.numel() for p in model.parameters()),
        "loss_history": history,
        "device": "cuda" if torch.cuda.is_available() else "cpu",
    }
    with os_errors(out):
        atomic_write_text(
            out / "train_summary.json", json.dumps(summary, indent=2, ensure_ascii=False, default=str)
        )
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

    from moud_core.atomic import atomic_open

    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot([h["step"] for h in history], [h["loss"] for h in history], marker=".")
    ax.set_xlabel("step")
    ax.set_ylabel("training loss (lm_coef*LM + mc_coef*MC)")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    with atomic_open(path, "wb") as fh:
        fig.savefig(fh, format="png", dpi=120)
    plt.close(fig)


def run_training(cfg: dict, quiet: bool = False, on_done=None) -> list[tuple[Path, dict]]:
    """One multilingual run into ``cfg["out"]``, or (``per_language``) one run per language into OUT/<lang>/;
    returns (folder, summary) per run; ``on_done(folder, summary)`` is called as each run ends."""
    from baselines.loading import check_model_source, library_progress_bars

    check_model_source(cfg["model"])  # a missing model fails at once, before loading any data
    library_progress_bars(not quiet)
    out = Path(cfg["out"])
    runs = [(out, cfg["languages"])]
    if cfg["per_language"]:
        from baselines.data import parse_source, source_languages

        langs = cfg["languages"] or sorted(
            {lang for s in cfg["train"] for lang in source_languages(parse_source(s), "train")}
        )
        runs = [(out / lang, [lang]) for lang in langs]
    done = []
    for folder, languages in runs:
        done.append((folder, train_one(cfg, folder, languages, quiet)))
        if on_done is not None:
            on_done(*done[-1])
    return done
