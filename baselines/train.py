"""``moud train`` as functions: resolve the training config (defaults, then a YAML file, then flags, field by
field, checked), then fine-tune the multitask baseline (LM + next-utterance classification) on MOUD, XPersona,
PersonaChat or a mix with ``transformers.Trainer``: one multilingual run, or one run per language."""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from pathlib import Path

from baselines.settings import check_rules, language_list, merge_layers
from baselines.tiny import NOTE, mark_tiny
from baselines.train_summary import count_languages, plot_losses, task_losses
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
    "max_instances": None,  # N instances after balancing, sampled across sources and languages (smoke runs)
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
    "threads": None,  # torch CPU threads (None: leave torch's setting)
}
# the kind each field must have where the default is None (languages: a list or "fr,ja", checked apart)
_TYPES = {**DEFAULTS, "per_language_cap": 0, "max_instances": 0, "out": "", "resume": "", "threads": 0}
_RULES = {
    **dict.fromkeys("max_history max_steps".split(), ("int", -1)),
    **dict.fromkeys("warmup_steps seed".split(), ("int", 0)),
    **dict.fromkeys(
        "train_candidates max_reply_tokens lora_r batch_size grad_accum save_steps logging_steps".split(),
        ("int", 1),
    ),
    "max_length": ("int", 8),
    **dict.fromkeys("per_language_cap max_instances save_total_limit threads".split(), ("optional_int", 1)),
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


def _file_paths(data: dict, config_file: str) -> dict:
    """The config file's sources, output folder and local model folder, relative to the file's folder."""
    from baselines.config_paths import relative_to_file

    out = dict(data)
    if isinstance(out.get("train"), list):
        out["train"] = [relative_to_file(src, config_file, source=True) for src in out["train"]]
    for key, hub in (("model", True), ("out", False), ("resume", False)):
        if isinstance(out.get(key), str) and out[key] != "auto":
            out[key] = relative_to_file(out[key], config_file, maybe_hub=hub)
    return out


def resolve_config(config_file: str | None, flags: dict) -> dict:
    """The training config: ``DEFAULTS``, then ``config_file``, then ``flags`` (options given on the
    command line)."""
    layers = []
    if config_file:
        data = load_yaml(config_file)
        if not isinstance(data, dict):
            raise ConfigError(f"{config_file}: expected a mapping of training options")
        layers.append((_file_paths(_yaml_numbers(data), config_file), config_file))
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
        from baselines.sampling import stratified_sample

        instances = stratified_sample(instances, cfg["max_instances"], cfg["seed"])
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
    base, tiny = _base_model(cfg, instances, out)
    mcfg = MultitaskConfig(
        base_model=base,
        lm_coef=cfg["lm_coef"],
        mc_coef=cfg["mc_coef"],
        max_length=cfg["max_length"],
        max_reply_tokens=cfg["max_reply_tokens"],
        lora=bool(cfg["lora"]),
        lora_r=cfg["lora_r"],
        lora_alpha=cfg["lora_alpha"],
        lora_dropout=cfg["lora_dropout"],
    )
    tokenizer = load_tokenizer(base)
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
        if tiny:
            mark_tiny(out, {"tiny_model": cfg["model"], "note": NOTE, "base": base})
    history = [h for h in trainer.state.log_history if "loss" in h]
    pending = trainer.pending_task_losses()  # the batches after the last log
    losses = task_losses(history + ([pending] if pending else []), cfg["train_candidates"])
    for warning in losses["warnings"]:
        print(f"moud train: warning: {warning}", file=sys.stderr)
    summary = {
        **({"note": NOTE, "tiny_model": cfg["model"]} if tiny else {}),
        "config": dict(cfg),
        "languages": sorted({i.language for i in instances}),
        "instances": len(instances),
        "per_language": count_languages(instances),
        "per_source": dict(sorted(Counter(f"{i.source}/{i.language}" for i in instances).items())),
        "steps": trainer.state.global_step,
        "train_loss": result.training_loss,
        "seconds": seconds,
        "tokens_per_second": trainer.tokens_seen / seconds if seconds else None,
        "trainable_parameters": sum(p.numel() for p in model.parameters() if p.requires_grad),
        "total_parameters": sum(p.numel() for p in model.parameters()),
        **losses,
        "loss_history": history,
        "device": "cuda" if torch.cuda.is_available() else "cpu",
    }
    with os_errors(out):
        atomic_write_text(
            out / "train_summary.json", json.dumps(summary, indent=2, ensure_ascii=False, default=str)
        )
        plot_losses(history, out / "loss.png", losses["mc_loss_chance"])
    return summary


def _base_model(cfg: dict, instances, out: Path) -> tuple[str, bool]:
    """(the base model to fine-tune, whether it is a tiny local model): a tiny name builds one in
    OUT/tiny-base/ with a tokenizer trained on this run's own text (kept when it exists: a resumed run)."""
    from baselines.tiny import instance_texts, is_tiny_name, make_tiny_model

    if not is_tiny_name(cfg["model"]):
        return cfg["model"], False
    base = (out / "tiny-base").resolve()
    if not (base / "config.json").is_file():
        make_tiny_model(cfg["model"], instance_texts(instances), base, cfg["seed"])
    return str(base), True


def run_training(cfg: dict, quiet: bool = False, on_done=None) -> list[tuple[Path, dict]]:
    """One multilingual run into ``cfg["out"]``, or (``per_language``) one run per language into OUT/<lang>/;
    returns (folder, summary) per run; ``on_done(folder, summary)`` is called as each run ends."""
    from baselines.eval_options import set_threads
    from baselines.loading import check_model_source, library_progress_bars
    from baselines.tiny import is_tiny_name, tiny_names

    set_threads(cfg["threads"])
    if not is_tiny_name(cfg["model"]):  # a missing model fails at once, before loading any data
        check_model_source(
            cfg["model"], extra=f"; or a tiny local model for a smoke run: {', '.join(tiny_names())}"
        )
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
