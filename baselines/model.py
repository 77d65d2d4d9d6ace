"""TransferTransfo-style multitask model on any causal LM: LM loss on the reply tokens only, plus a
next-utterance classification head scoring each candidate from the last hidden state of its last token.

Input layout (text markers, so no new embeddings are needed and LoRA can leave embeddings frozen)::

    [bos] persona: <s1> <s2> ...\\nother: <u1>\\nself: <u2>\\nother: <u3>\\nself: <candidate>[eos]

The prefix (everything up to ``\\nself:``) is tokenized once and shared by all candidates of a turn.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch import nn

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


# -------------------------------------------------------------------------------------- tokenization

class DialogueEncoder:
    """Turns (persona, history, candidate) into token ids with a prefix shared by all candidates."""

    def __init__(self, tokenizer, config: MultitaskConfig):
        self.tok, self.cfg = tokenizer, config
        if tokenizer.pad_token_id is None:
            tokenizer.pad_token = tokenizer.eos_token
        self.eos = tokenizer.eos_token_id
        self.bos = [tokenizer.bos_token_id] if tokenizer.bos_token_id is not None else []
        self.self_ids = self._ids("\n" + config.self_marker)

    def _ids(self, text: str) -> list[int]:
        return self.tok(text, add_special_tokens=False)["input_ids"]

    def suffix(self, reply: str) -> list[int]:
        ids = self._ids(" " + reply.strip())[: self.cfg.max_reply_tokens]
        return ids + ([self.eos] if self.eos is not None else [])

    def prefix(self, persona: list[str], history: list[str], budget: int | None = None) -> list[int]:
        """Context ids ending with the self marker, at most ``budget`` tokens: oldest history utterances
        are dropped first, then tokens are cut from the left."""
        budget = self.cfg.max_length - self.cfg.max_reply_tokens - 1 if budget is None else budget
        persona_ids = self._ids(" ".join([self.cfg.persona_marker, *persona]))
        n = len(history)
        hist = [self._ids(f"\n{self.cfg.other_marker if (n - i) % 2 == 1 else self.cfg.self_marker} {u}")
                for i, u in enumerate(history)]
        room = budget - len(self.bos) - len(self.self_ids)
        while len(hist) > 1 and len(persona_ids) + sum(map(len, hist)) > room:
            hist.pop(0)
        ctx = persona_ids + [t for h in hist for t in h]
        if len(ctx) > room:
            ctx = ctx[len(ctx) - max(room, 0):]
        return self.bos + ctx + self.self_ids

    def encode(self, persona: list[str], history: list[str], candidates: list[str]):
        """(prefix ids, [suffix ids per candidate]) fitting ``max_length``."""
        suffixes = [self.suffix(c) for c in candidates]
        longest = max(map(len, suffixes)) if suffixes else 0
        return self.prefix(persona, history, self.cfg.max_length - longest), suffixes


# ------------------------------------------------------------------------------------------- model

def detect_lora_targets(lm: nn.Module) -> list[str]:
    names = {name.rsplit(".", 1)[-1] for name, _ in lm.named_modules()}
    for targets in (["query_key_value"], ["q_proj", "v_proj"], ["c_attn"], ["qkv_proj"]):
        if all(t in names for t in targets):
            return targets
    raise MoudError("LoRA: cannot find attention projections (query_key_value, q_proj/v_proj, c_attn) in "
                    f"{type(lm).__name__}; set lora_target_modules in the config")


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
        self.hf_model.gradient_checkpointing_enable(gradient_checkpointing_kwargs=gradient_checkpointing_kwargs)
        if self.is_lora:
            self.hf_model.enable_input_require_grads()

    def mc_logits(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.mc_head(self.mc_dropout(hidden)).squeeze(-1)

    def forward(self, input_ids, attention_mask, lm_labels, mc_token_ids, mc_labels, **_):
        """input_ids/attention_mask [B, C, L]; lm_labels [B, L] for the gold candidate (-100 = ignore);
        mc_token_ids [B, C] (index of each candidate's last token); mc_labels [B]."""
        b, c, length = input_ids.shape
        hidden = self.backbone(input_ids=input_ids.view(b * c, length),
                               attention_mask=attention_mask.view(b * c, length)).last_hidden_state
        hidden = hidden.view(b, c, length, -1)
        last = hidden[torch.arange(b)[:, None], torch.arange(c)[None, :], mc_token_ids]  # [B, C, H]
        mc_logits = self.mc_logits(last)
        mc_loss = nn.functional.cross_entropy(mc_logits.float(), mc_labels)
        gold_hidden = hidden[torch.arange(b), mc_labels]  # [B, L, H]
        logits = self.lm_head(gold_hidden[:, :-1]).float()
        lm_loss = nn.functional.cross_entropy(logits.reshape(-1, logits.size(-1)), lm_labels[:, 1:].reshape(-1),
                                              ignore_index=-100)
        loss = self.cfg.lm_coef * lm_loss + self.cfg.mc_coef * mc_loss
        return {"loss": loss, "lm_loss": lm_loss.detach(), "mc_loss": mc_loss.detach(), "mc_logits": mc_logits}

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
        save_file({k: v.detach().cpu().contiguous() for k, v in self.mc_head.state_dict().items()},
                  str(directory / HEAD_NAME))
        meta = {**asdict(self.cfg), "format": fmt}
        if fmt == "full":
            meta["lora"] = False
        (directory / CONFIG_NAME).write_text(json.dumps(meta, indent=2, ensure_ascii=False), encoding="utf-8")
        if tokenizer is not None:
            tokenizer.save_pretrained(directory)
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


def _load_causal_lm(name_or_path: str, dtype=None):
    from transformers import AutoModelForCausalLM

    path = Path(name_or_path)
    if (name_or_path.startswith((".", "/", "~")) or path.exists()) and not path.is_dir():
        raise MoudError(f"model path {name_or_path!r} does not exist (expected a model folder)")
    try:
        return AutoModelForCausalLM.from_pretrained(name_or_path, dtype=dtype)
    except (OSError, ValueError) as exc:
        raise MoudError(f"model {name_or_path!r}: not a local model folder and not loadable offline "
                        f"({str(exc).strip().splitlines()[0][:200]})") from None


def load_tokenizer(name_or_path: str):
    from transformers import AutoTokenizer

    try:
        tok = AutoTokenizer.from_pretrained(name_or_path)
    except (OSError, ValueError) as exc:
        raise MoudError(f"tokenizer {name_or_path!r}: cannot load ({str(exc).strip().splitlines()[0][:200]})") from None
    if tok.pad_token_id is None:
        tok.pad_token = tok.eos_token
    return tok


def build_model(config: MultitaskConfig, dtype=None) -> MultitaskModel:
    """A fresh multitask model on ``config.base_model`` (LoRA-wrapped when ``config.lora``)."""
    lm = _load_causal_lm(config.base_model, dtype)
    if config.lora:
        from peft import LoraConfig, get_peft_model

        targets = config.lora_target_modules or detect_lora_targets(lm)
        config.lora_target_modules = list(targets)
        lm = get_peft_model(lm, LoraConfig(r=config.lora_r, lora_alpha=config.lora_alpha,
                                           lora_dropout=config.lora_dropout, target_modules=list(targets)))
    return MultitaskModel(lm, config)


def load_model(directory: str | Path, dtype=None, device: str | None = None):
    """(model, tokenizer, has_head) from a folder written by ``MultitaskModel.save`` — or a plain causal
    LM folder (then the head is untrained: ``has_head`` is False, rank with the LM)."""
    from safetensors.torch import load_file

    directory = Path(directory)
    if not directory.is_dir():
        raise MoudError(f"model path {str(directory)!r} does not exist (expected a folder written by 'moud train')")
    meta_path = directory / CONFIG_NAME
    has_head = meta_path.is_file()
    if has_head:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        cfg = MultitaskConfig.from_dict(meta)
        if meta.get("format") == "adapter":
            from peft import PeftModel

            base = _load_causal_lm(cfg.base_model, dtype)
            lm = PeftModel.from_pretrained(base, str(directory))
        else:
            lm = _load_causal_lm(str(directory), dtype)
            cfg.lora = False
    else:
        cfg = MultitaskConfig(base_model=str(directory))
        lm = _load_causal_lm(str(directory), dtype)
    model = MultitaskModel(lm, cfg)
    if has_head:
        model.mc_head.load_state_dict(load_file(str(directory / HEAD_NAME)))
        model.mc_head.to(next(lm.parameters()).dtype)
    if device:
        model.to(device)
    model.eval()
    return model, load_tokenizer(str(directory)), has_head


# ---------------------------------------------------------------------------------------- scoring

def _lm_rows(need_lm, n: int) -> list[int]:
    """Candidate indices whose LM statistics are wanted: ``True`` = all, ``False``/``None`` = none, or an
    iterable of indices (e.g. the gold reply's)."""
    if need_lm is True:
        return list(range(n))
    if not need_lm:
        return []
    rows = sorted({int(i) for i in need_lm})
    if rows and not 0 <= rows[0] <= rows[-1] < n:
        raise ValueError(f"need_lm: candidate index out of range 0..{n - 1}: {rows}")
    return rows


def _lm_stats(model: MultitaskModel, hidden: torch.Tensor, targets: torch.Tensor, lengths: torch.Tensor):
    """Per-candidate (sum NLL of reply tokens excluding eos, mean NLL including eos) from ``hidden`` [C, S, H]
    (position j predicts ``targets[:, j]``). The LM head runs only on the real (unpadded) positions."""
    pos = torch.arange(targets.size(1), device=targets.device)[None, :]
    valid = pos < lengths[:, None]
    logits = model.lm_head(hidden[valid]).float()  # [T, V]
    nll_valid = torch.logsumexp(logits, -1) - logits.gather(-1, targets[valid].unsqueeze(-1)).squeeze(-1)
    nll = torch.zeros(targets.shape, dtype=nll_valid.dtype, device=targets.device)
    nll[valid] = nll_valid
    reply = pos < (lengths[:, None] - 1)
    return (nll * reply).sum(1), nll.sum(1) / lengths.clamp(min=1)


def _pad(seqs: list[list[int]], pad: int, device) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(map(len, seqs))
    ids = torch.full((len(seqs), width), pad, dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    for i, s in enumerate(seqs):
        ids[i, : len(s)] = torch.tensor(s, dtype=torch.long)
        mask[i, : len(s)] = 1
    return ids.to(device), mask.to(device)


def _head_scores(model: MultitaskModel, hidden_last: torch.Tensor) -> torch.Tensor:
    return model.mc_head(hidden_last).squeeze(-1).float()


def _empty_scores(n: int) -> dict:
    """Result tensors; LM statistics of candidates not asked for stay NaN."""
    return {"mc": torch.full((n,), float("nan")), "lm_mean": torch.full((n,), float("nan")),
            "nll_sum": torch.full((n,), float("nan")), "ntok": torch.zeros(n, dtype=torch.long)}


def plan_groups(lengths: list[int], max_group: int | None = None, overhead_tokens: int = 32) -> list[list[int]]:
    """Split candidate indices into batches that minimise padded tokens + ``overhead_tokens`` per batch.

    Candidates are sorted by length; a batch is a contiguous run of the sorted order costing
    ``size * longest + overhead_tokens`` (dynamic programming, O(n^2) for n candidates)."""
    order = sorted(range(len(lengths)), key=lambda i: (lengths[i], i))
    n = len(order)
    cap = n if not max_group else max_group
    best = [0.0] + [float("inf")] * n  # best[j]: cost of the first j sorted candidates
    cut = [0] * (n + 1)
    for j in range(1, n + 1):
        for i in range(max(0, j - cap), j):
            cost = best[i] + (j - i) * lengths[order[j - 1]] + overhead_tokens
            if cost < best[j]:
                best[j], cut[j] = cost, i
    groups, j = [], n
    while j > 0:
        groups.append(order[cut[j]:j])
        j = cut[j]
    return groups[::-1]


def _prefix_cache(model: MultitaskModel, prefix_cache, n: int):
    """A fresh cache holding the prefix keys/values for a batch of ``n`` candidates (no deep copy)."""
    from transformers import DynamicCache

    data = [(layer.keys.expand(n, *layer.keys.shape[1:]), layer.values.expand(n, *layer.values.shape[1:]))
            for layer in prefix_cache.layers]
    return DynamicCache(data, config=model.hf_model.config)


@torch.no_grad()
def score_shared_prefix(model: MultitaskModel, prefix: list[int], suffixes: list[list[int]], pad_id: int,
                        need_lm=True, max_group: int | None = None, overhead_tokens: int | None = None) -> dict:
    """Score all candidates of one turn, running the shared prefix once and reusing its KV cache.

    Returns tensors ``mc`` (head logit), ``lm_mean`` (mean NLL incl. eos), ``nll_sum`` (NLL of the reply
    tokens excl. eos) and ``ntok`` per candidate. ``need_lm`` (True, False or candidate indices) says whose
    LM statistics to compute (the LM head over the vocabulary is the costly part); the others are NaN.
    Candidates run in length-sorted batches chosen by ``plan_groups`` behind a batch-expanded copy of the
    prefix cache, so short candidates are not padded to the longest one. ``overhead_tokens`` (cost of one
    extra batch, in tokens) defaults to 32 on CPU and 4096 on accelerators (one batch)."""
    dev = model.device
    if overhead_tokens is None:
        overhead_tokens = 32 if dev.type == "cpu" else 4096
    res = _empty_scores(len(suffixes))
    if not suffixes:
        return res
    lm_rows = set(_lm_rows(need_lm, len(suffixes)))
    out = model.backbone(input_ids=torch.tensor([prefix], device=dev), use_cache=True)
    prefix_cache, last_prefix = out.past_key_values, out.last_hidden_state[:, -1:]
    p = len(prefix)
    for group in plan_groups([len(s) for s in suffixes], max_group, overhead_tokens):
        n = len(group)
        ids, mask = _pad([suffixes[i] for i in group], pad_id, dev)
        full_mask = torch.cat([torch.ones((n, p), dtype=torch.long, device=dev), mask], dim=1)
        hs = model.backbone(input_ids=ids, attention_mask=full_mask, past_key_values=_prefix_cache(model, prefix_cache, n),
                            use_cache=True).last_hidden_state
        lengths = mask.sum(1)
        index = torch.tensor(group)
        res["mc"][index] = _head_scores(model, hs[torch.arange(n, device=dev), lengths - 1]).cpu()
        res["ntok"][index] = (lengths - 1).clamp(min=0).cpu()
        sel = [j for j, i in enumerate(group) if i in lm_rows]
        if sel:
            rows = torch.tensor(sel, device=dev)
            hidden = torch.cat([last_prefix.expand(len(sel), 1, -1), hs[rows, :-1]], dim=1)  # j predicts token j
            nll_sum, mean_all = _lm_stats(model, hidden, ids[rows], lengths[rows])
            res["nll_sum"][index[sel]], res["lm_mean"][index[sel]] = nll_sum.cpu(), mean_all.cpu()
    return res


@torch.no_grad()
def score_independent(model: MultitaskModel, prefix: list[int], suffixes: list[list[int]], pad_id: int,
                      batched: bool = True, need_lm=True) -> dict:
    """Reference: run each full sequence (prefix + candidate) on its own (or all as one padded batch);
    same outputs as ``score_shared_prefix``."""
    dev, p = model.device, len(prefix)
    res = _empty_scores(len(suffixes))
    if not suffixes:
        return res
    lm_rows = set(_lm_rows(need_lm, len(suffixes)))
    groups = [list(range(len(suffixes)))] if batched else [[i] for i in range(len(suffixes))]
    for g in groups:
        ids, mask = _pad([prefix + suffixes[i] for i in g], pad_id, dev)
        hs = model.backbone(input_ids=ids, attention_mask=mask).last_hidden_state
        lengths = torch.tensor([len(suffixes[i]) for i in g], device=dev)
        index = torch.tensor(g)
        res["mc"][index] = _head_scores(model, hs[torch.arange(len(g), device=dev), p + lengths - 1]).cpu()
        res["ntok"][index] = (lengths - 1).clamp(min=0).cpu()
        sel = [j for j, i in enumerate(g) if i in lm_rows]
        if sel:
            rows = torch.tensor(sel, device=dev)
            nll_sum, mean_all = _lm_stats(model, hs[rows, p - 1:-1], ids[rows, p:], lengths[rows])
            res["nll_sum"][index[sel]], res["lm_mean"][index[sel]] = nll_sum.cpu(), mean_all.cpu()
    return res


@torch.no_grad()
def generate_replies(model: MultitaskModel, encoder: DialogueEncoder, prefixes: list[list[int]],
                     max_new_tokens: int = 40) -> list[str]:
    """Greedy continuations of a batch of prefixes (left-padded), cut at the end of the turn."""
    tok = encoder.tok
    width = max(map(len, prefixes))
    dev = model.device
    ids = torch.full((len(prefixes), width), tok.pad_token_id, dtype=torch.long, device=dev)
    mask = torch.zeros_like(ids)
    for i, p in enumerate(prefixes):
        ids[i, width - len(p):] = torch.tensor(p, dtype=torch.long)
        mask[i, width - len(p):] = 1
    out = model.hf_model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=max_new_tokens,
                                  do_sample=False, num_beams=1, pad_token_id=tok.pad_token_id,
                                  eos_token_id=encoder.eos)
    texts = tok.batch_decode(out[:, width:], skip_special_tokens=True)
    return [t.split("\n", 1)[0].strip() for t in texts]
