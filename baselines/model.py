"""TransferTransfo-style multitask model on any causal LM: LM loss on the reply tokens only, plus a
next-utterance classification head scoring each candidate from the last hidden state of its last token.
Input layout: ``baselines/encoder.py``; scoring and generation: ``baselines/scoring.py``; where models come
from: ``baselines/loading.py``.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch import nn

from baselines.loading import first_line, load_causal_lm, load_tokenizer
from moud_core.atomic import atomic_write_text, file_mode
from moud_core.errors import MoudError

CONFIG_NAME = "multitask_config.json"
HEAD_NAME = "mc_head.safetensors"


@dataclass
class MultitaskConfig:
    base_model: str = "bigscience/bloom-560m"
    lm_coef: float = 2.0
    mc_coef: float = 1.0
    max_length: int = 256
    max_reply_tokens: int = 64
    persona_marker: str = "persona:"
    self_marker: str = "self:"
    other_marker: str = "other:"
    lora: bool = False
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    lora_target_modules: list[str] = field(default_factory=list)  # empty: detect from the architecture
    mc_dropout: float = 0.1

    @classmethod
    def from_dict(cls, d: dict) -> MultitaskConfig:
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in d.items() if k in known})


# ------------------------------------------------------------------------------------------- model


def detect_lora_targets(lm: nn.Module) -> list[str]:
    names = {name.rsplit(".", 1)[-1] for name, _ in lm.named_modules()}
    for targets in (["query_key_value"], ["q_proj", "v_proj"], ["c_attn"], ["qkv_proj"]):
        if all(t in names for t in targets):
            return targets
    raise MoudError(
        "LoRA: cannot find attention projections (query_key_value, q_proj/v_proj, c_attn) in "
        f"{type(lm).__name__}; set lora_target_modules in the config"
    )


class MultitaskModel(nn.Module):
    """A causal LM (optionally LoRA-wrapped) plus a linear next-utterance classification head."""

    def __init__(self, lm: nn.Module, config: MultitaskConfig, head: nn.Module | None = None):
        super().__init__()
        self.cfg = config
        self.lm = lm  # a PreTrainedModel or a peft PeftModel
        hidden = self.hf_model.config.hidden_size
        self.mc_head = head if head is not None else nn.Linear(hidden, 1)
        self.mc_dropout = nn.Dropout(config.mc_dropout)
        self.mc_head.to(device=self.device, dtype=next(self.lm.parameters()).dtype)

    # The inner transformers model (LoRA layers are injected in place, so they run through it too).
    @property
    def hf_model(self):
        return self.lm.get_base_model() if hasattr(self.lm, "get_base_model") else self.lm

    @property
    def backbone(self):
        return self.hf_model.base_model

    @property
    def lm_head(self):
        return self.hf_model.get_output_embeddings()

    @property
    def device(self):
        return next(self.lm.parameters()).device

    @property
    def is_lora(self) -> bool:
        return hasattr(self.lm, "get_base_model")

    def gradient_checkpointing_enable(self, gradient_checkpointing_kwargs=None):
        self.hf_model.gradient_checkpointing_enable(
            gradient_checkpointing_kwargs=gradient_checkpointing_kwargs
        )
        if self.is_lora:
            self.hf_model.enable_input_require_grads()

    def mc_logits(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.mc_head(self.mc_dropout(hidden)).squeeze(-1)

    def forward(self, input_ids, attention_mask, lm_labels, mc_token_ids, mc_labels, **_):
        """input_ids/attention_mask [B, C, L]; lm_labels [B, L] for the gold candidate (-100 = ignore);
        mc_token_ids [B, C] (index of each candidate's last token); mc_labels [B]."""
        b, c, length = input_ids.shape
        hidden = self.backbone(
            input_ids=input_ids.view(b * c, length), attention_mask=attention_mask.view(b * c, length)
        ).last_hidden_state
        hidden = hidden.view(b, c, length, -1)
        last = hidden[torch.arange(b)[:, None], torch.arange(c)[None, :], mc_token_ids]  # [B, C, H]
        mc_logits = self.mc_logits(last)
        mc_loss = nn.functional.cross_entropy(mc_logits.float(), mc_labels)
        gold_hidden = hidden[torch.arange(b), mc_labels]  # [B, L, H]
        logits = self.lm_head(gold_hidden[:, :-1]).float()
        lm_loss = nn.functional.cross_entropy(
            logits.reshape(-1, logits.size(-1)), lm_labels[:, 1:].reshape(-1), ignore_index=-100
        )
        loss = self.cfg.lm_coef * lm_loss + self.cfg.mc_coef * mc_loss
        return {
            "loss": loss,
            "lm_loss": lm_loss.detach(),
            "mc_loss": mc_loss.detach(),
            "mc_logits": mc_logits,
        }

    # ------------------------------------------------------------------------------------ save/load

    def save(self, directory: str | Path, tokenizer=None, export: str = "adapter") -> Path:
        """Save the model: full weights, or (LoRA) the adapter only or the merged model. The head is
        always saved beside it (``mc_head.safetensors``) with ``multitask_config.json``."""
        from safetensors.torch import save_file

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        fmt = "full"
        if self.is_lora and export == "adapter":
            self.lm.save_pretrained(directory)
            fmt = "adapter"
        elif self.is_lora:
            import copy

            copy.deepcopy(self.lm).merge_and_unload().save_pretrained(directory)
        else:
            self.lm.save_pretrained(directory)
        save_file(
            {k: v.detach().cpu().contiguous() for k, v in self.mc_head.state_dict().items()},
            str(directory / HEAD_NAME),
        )
        meta = {**asdict(self.cfg), "format": fmt}
        if fmt == "full":
            meta["lora"] = False
        atomic_write_text(directory / CONFIG_NAME, json.dumps(meta, indent=2, ensure_ascii=False))
        if tokenizer is not None:
            tokenizer.save_pretrained(directory)
        follow_umask(directory)
        return directory

    def load_weights(self, directory: str | Path) -> None:
        """Load trainable weights saved by ``save`` into this model (used to resume a checkpoint)."""
        from safetensors.torch import load_file

        directory = Path(directory)
        if self.is_lora:
            from peft import set_peft_model_state_dict

            set_peft_model_state_dict(self.lm, load_file(str(directory / "adapter_model.safetensors")))
        else:
            from transformers import AutoModelForCausalLM

            saved = AutoModelForCausalLM.from_pretrained(directory, dtype=next(self.lm.parameters()).dtype)
            self.lm.load_state_dict(saved.state_dict())
        self.mc_head.load_state_dict(load_file(str(directory / HEAD_NAME)))


def follow_umask(directory: Path) -> None:
    """safetensors writes its files 0600 whatever the umask: give them the mode ``open`` would have."""
    for f in Path(directory).glob("*.safetensors"):
        os.chmod(f, file_mode())


def build_model(config: MultitaskConfig, dtype=None) -> MultitaskModel:
    """A fresh multitask model on ``config.base_model`` (LoRA-wrapped when ``config.lora``)."""
    lm = load_causal_lm(config.base_model, dtype)
    if config.lora:
        from peft import LoraConfig, get_peft_model

        targets = config.lora_target_modules or detect_lora_targets(lm)
        config.lora_target_modules = list(targets)
        lm = get_peft_model(
            lm,
            LoraConfig(
                r=config.lora_r,
                lora_alpha=config.lora_alpha,
                lora_dropout=config.lora_dropout,
                target_modules=list(targets),
            ),
        )
    return MultitaskModel(lm, config)


def load_model(directory: str | Path, dtype=None, device: str | None = None):
    """(model, tokenizer, has_head) from a folder written by ``MultitaskModel.save`` — or a plain causal
    LM folder (then the head is untrained: ``has_head`` is False, rank with the LM)."""
    from safetensors.torch import load_file

    directory = Path(directory)
    if not directory.is_dir():
        raise MoudError(
            f"model path {str(directory)!r} does not exist (expected a folder written by 'moud train')"
        )
    meta_path = directory / CONFIG_NAME
    has_head = meta_path.is_file()
    if has_head:
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except (ValueError, OSError) as exc:
            raise MoudError(f"{meta_path}: cannot read the model's config ({first_line(exc)})") from None
        if not isinstance(meta, dict):
            raise MoudError(f"{meta_path}: expected a JSON object (written by 'moud train')")
        cfg = MultitaskConfig.from_dict(meta)
        if meta.get("format") == "adapter":
            from peft import PeftModel

            base = load_causal_lm(cfg.base_model, dtype)
            lm = PeftModel.from_pretrained(base, str(directory))
        else:
            lm = load_causal_lm(str(directory), dtype)
            cfg.lora = False
    else:
        cfg = MultitaskConfig(base_model=str(directory))
        lm = load_causal_lm(str(directory), dtype)
    model = MultitaskModel(lm, cfg)
    if has_head:
        model.mc_head.load_state_dict(load_file(str(directory / HEAD_NAME)))
        model.mc_head.to(next(lm.parameters()).dtype)
    if device:
        model.to(device)
    model.eval()
    return model, load_tokenizer(str(directory)), has_head
