"""``moud train`` as functions: resolve the training config (defaults, then a YAML file, then flags, field by
field, checked), then fine-tune the multitask baseline (LM + next-utterance classification) on MOUD, XPersona,
PersonaChat or a mix with ``transformers.Trainer``: one multilingual run, or one run per language."""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from baselines.settings import resolve
from baselines.tiny import NOTE, mark_tiny
from baselines.train_summary import count_languages, plot_losses, task_losses
from moud_core.errors import ConfigError, MoudError
from moud_core.typed_config import at_least, to_dict
from moud_core.yamlio import load_yaml


@dataclass(frozen=True)
class TrainSettings:
    """``moud train``'s options; ``to_dict`` is the config dict the summaries record."""

    model: str = "bigscience/bloom-560m"
    train: tuple[str | dict[str, Any], ...] = ()  # sources: "type:path" or {type, path, split, language}
    languages: tuple[str, ...] | None = None  # list or "fr,ja"; None = every language in the sources
    per_language: bool = False  # one run per language (OUT/<lang>/) instead of one multilingual run
    balance: Literal["none", "cap", "upsample"] = "none"
    per_language_cap: int | None = field(default=None, metadata=at_least(1))  # instances per language
    max_history: int = field(default=2, metadata=at_least(-1))  # utterance pairs of history (2n+1 utterances)
    train_candidates: int = field(default=2, metadata=at_least(1))  # gold + distractors (TransferTransfo: 2)
    max_instances: int | None = field(
        default=None, metadata=at_least(1)
    )  # N sampled across sources/languages
    max_length: int = field(default=256, metadata=at_least(8))
    max_reply_tokens: int = field(default=64, metadata=at_least(1))
    lm_coef: float = field(default=2.0, metadata=at_least(0))
    mc_coef: float = field(default=1.0, metadata=at_least(0))
    lora: bool = False
    lora_r: int = field(default=16, metadata=at_least(1))
    lora_alpha: float = field(default=32, metadata=at_least(0))
    lora_dropout: float = field(default=0.05, metadata=at_least(0))
    export: Literal["adapter", "merged"] = "adapter"  # LoRA only
    learning_rate: float = field(default=6.25e-5, metadata=at_least(0))
    epochs: float = field(default=1.0, metadata=at_least(0))
    max_steps: int = field(default=-1, metadata=at_least(-1))
    batch_size: int = field(default=4, metadata=at_least(1))
    grad_accum: int = field(default=8, metadata=at_least(1))
    warmup_steps: int = field(default=0, metadata=at_least(0))
    weight_decay: float = field(default=0.0, metadata=at_least(0))
    precision: Literal["auto", "bf16", "fp16", "fp32"] = "auto"
    gradient_checkpointing: bool = False
    save_steps: int = field(default=500, metadata=at_least(1))
    save_total_limit: int | None = field(default=2, metadata=at_least(1))
    logging_steps: int = field(default=10, metadata=at_least(1))
    seed: int = field(default=42, metadata=at_least(0))
    out: str | None = None
    resume: str | None = None  # checkpoint folder, or "auto" for the latest in OUT
    threads: int | None = field(default=None, metadata=at_least(1))  # torch CPU threads (None: leave as is)


DEFAULTS: dict = to_dict(TrainSettings())
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
    cfg = to_dict(resolve(TrainSettings, layers))
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
    if cfg["train_candidates"] > 1:
        instances = _with_distractor_dialogues(instances)
    instances = attach_candidates(instances, cfg["train_candidates"], cfg["seed"])
    if cfg["max_instances"]:
        from baselines.sampling import stratified_sample

        instances = stratified_sample(instances, cfg["max_instances"], cfg["seed"])
    if not instances:
        raise MoudError("no training instances after loading and balancing")
    return instances


def _with_distractor_dialogues(instances: list) -> list:
    """Instances of the (source, language) pools with another dialogue to draw distractors from; a pool of
    one dialogue (a tiny language's train split) is left out with a one-line warning, not a failed run."""
    dialogues: dict[tuple[str, str], set] = {}
    for inst in instances:
        dialogues.setdefault((inst.source, inst.language), set()).add(inst.dialogue_id)
    lone = {key for key, ids in dialogues.items() if len(ids) < 2}
    for source, language in sorted(lone):
        print(
            f"moud train: warning: {source} language {language!r} has one training dialogue, no other one to "
            "draw a distractor from; left out of training (make more dialogues)",
            file=sys.stderr,
        )
    return [i for i in instances if (i.source, i.language) not in lone]


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
