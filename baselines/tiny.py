"""Tiny local models for smoke runs (``moud train --model tiny-bloom``): a 2-layer model built from a
config (``baselines/data/tiny_models.yaml``) with a byte-level BPE tokenizer trained on the run's own text,
saved to a folder and loaded back through ``from_pretrained`` like any model. Nothing is downloaded. Their
results mean nothing; the folder says so (``tiny_model.json``), and so do the train summary and the
evaluation results."""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import cache
from pathlib import Path

from moud_core.atomic import atomic_write_text
from moud_core.yamlio import load_yaml

MARKER = "tiny_model.json"
NOTE = "tiny local model for smoke runs: its results are meaningless"
SPECIAL = ["<pad>", "<s>", "</s>", "<unk>", "<|system|>", "<|user|>", "<|assistant|>", "<|end|>"]


@cache
def _spec() -> dict:
    return load_yaml(Path(__file__).parent / "data" / "tiny_models.yaml")


def tiny_names() -> list[str]:
    return sorted(_spec()["models"])


def tiny_spec(name: str) -> dict:
    """``{architecture, config}`` of tiny model ``name``."""
    return _spec()["models"][name]


def is_tiny_name(name: str) -> bool:
    return name in _spec()["models"]


def train_tokenizer(texts: Iterable[str], vocab_size: int | None = None, chat_template: str | None = None):
    """A byte-level BPE tokenizer trained on ``texts``, wrapped as a transformers fast tokenizer."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size or _spec()["tokenizer"]["vocab_size"],
        special_tokens=SPECIAL,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(texts, trainer=trainer)
    hf = PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<s>", eos_token="<|end|>", pad_token="<pad>", unk_token="<unk>"
    )
    if chat_template:
        hf.chat_template = chat_template
    return hf


def build_tiny(architecture: str, tok, config: dict):
    """A randomly initialised causal LM of ``architecture`` (bloom | llama) sized by ``config`` (which may
    also set ``vocab_size`` to pad the vocabulary)."""
    ids = {
        "vocab_size": len(tok),
        "bos_token_id": tok.bos_token_id,
        "eos_token_id": tok.eos_token_id,
        "pad_token_id": tok.pad_token_id,
    }
    if architecture == "bloom":
        from transformers import BloomConfig, BloomForCausalLM

        return BloomForCausalLM(BloomConfig(**{**ids, **config}))
    from transformers import LlamaConfig, LlamaForCausalLM

    model = LlamaForCausalLM(LlamaConfig(**{**ids, **config}))
    model.generation_config.pad_token_id = tok.pad_token_id
    model.generation_config.eos_token_id = tok.eos_token_id
    return model


def make_tiny_model(name: str, texts: Iterable[str], directory: str | Path, seed: int = 0) -> Path:
    """Build tiny model ``name`` with a tokenizer trained on ``texts`` and save it (with ``tiny_model.json``)
    to ``directory``."""
    import torch

    spec = tiny_spec(name)
    directory = Path(directory)
    tok = train_tokenizer(texts)
    torch.manual_seed(seed)
    model = build_tiny(spec["architecture"], tok, spec["config"])
    model.save_pretrained(directory)
    tok.save_pretrained(directory)
    marker = {"tiny_model": name, "note": NOTE, "seed": seed, "config": spec}
    mark_tiny(directory, marker)
    return directory


def mark_tiny(directory: str | Path, marker: dict) -> None:
    """Write ``tiny_model.json`` (what the model is, and that its results mean nothing) into ``directory``."""
    atomic_write_text(Path(directory) / MARKER, json.dumps(marker, indent=2, ensure_ascii=False) + "\n")


def tiny_marker(model_dir: str | Path) -> dict | None:
    """The ``tiny_model.json`` of ``model_dir`` (None for a real model)."""
    path = Path(model_dir) / MARKER
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"note": NOTE}


def instance_texts(instances) -> Iterable[str]:
    """The run's own text: every persona sentence, history utterance and reply."""
    for inst in instances:
        yield from inst.persona
        yield from inst.history
        yield inst.reply
