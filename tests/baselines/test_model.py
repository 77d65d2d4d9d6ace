"""Multitask model: prefix-shared scoring, truncation, training, LoRA, checkpoints, bad paths."""

from __future__ import annotations

import pytest
import torch

from baselines.encoder import DialogueEncoder
from baselines.loading import load_tokenizer
from baselines.model import MultitaskConfig, build_model, load_model
from baselines.scoring import score_independent, score_shared_prefix
from baselines.train import DEFAULTS, train_one
from baselines.trainer import MultitaskDataset, collate
from moud_core.errors import MoudError
from tests.baselines.helpers import HISTORY, PERSONA, write_xpersona

CANDS = [
    "Je vais à la montagne avec mon chat.",
    "Rien.",
    "我喜欢吃火锅。",
    "Je travaille à l'hôpital Édouard-Herriot.",
]


@pytest.mark.parametrize("fixture", ["tiny_bloom", "tiny_llama_chat"])
def test_shared_prefix_scores_equal_independent(request, fixture):
    path = str(request.getfixturevalue(fixture))
    cfg = MultitaskConfig(base_model=path)
    torch.manual_seed(0)
    model = build_model(cfg).eval()
    tok = load_tokenizer(path)
    prefix, suffixes = DialogueEncoder(tok, cfg).encode(PERSONA, HISTORY, CANDS)
    shared = score_shared_prefix(model, prefix, suffixes, tok.pad_token_id)
    for batched in (True, False):
        ref = score_independent(model, prefix, suffixes, tok.pad_token_id, batched=batched)
        for key in ("mc", "lm_mean", "nll_sum"):
            assert torch.allclose(shared[key], ref[key], atol=1e-4), key
        assert torch.equal(shared["ntok"], ref["ntok"])
    # the cache really carries the context: another prefix gives other scores
    other = score_shared_prefix(model, prefix[:3] + prefix[8:], suffixes, tok.pad_token_id)
    assert (other["lm_mean"] - shared["lm_mean"]).abs().max() > 1e-5


def test_encoder_truncates_history_from_the_left(tiny_bloom):
    tok = load_tokenizer(str(tiny_bloom))
    enc = DialogueEncoder(
        tok, MultitaskConfig(base_model=str(tiny_bloom), max_length=60, max_reply_tokens=10)
    )
    long_history = [f"utterance number {i} about Lyon and the Saône" for i in range(8)]
    prefix, suffixes = enc.encode(PERSONA, long_history, ["Oui."])
    assert len(prefix) + len(suffixes[0]) <= 60
    text = tok.decode(prefix)
    assert "number 7" in text and "number 0" not in text and text.endswith("self:")
    assert text.rstrip().splitlines()[-2].startswith("other:")  # the last history utterance is the partner's


def _cfg(model, tmp_path, **kw):
    write_xpersona(tmp_path / "xp", "Fr", "train_corrected", n_dialogues=6, pairs=3)
    return {
        **DEFAULTS,
        "model": str(model),
        "train": [f"xpersona:{tmp_path / 'xp'}"],
        "languages": ["fr"],
        "max_length": 64,
        "max_reply_tokens": 16,
        "batch_size": 4,
        "grad_accum": 1,
        "learning_rate": 5e-3,
        "max_instances": 8,
        "logging_steps": 1,
        "save_steps": 4,
        "out": str(tmp_path / "run"),
        **kw,
    }


def _loss_on(model, tok, cfg_dict, instances):
    from baselines.candidates import attach_candidates

    enc = DialogueEncoder(tok, model.cfg)
    inst = attach_candidates(instances, 2, cfg_dict["seed"])[:8]
    batch = collate([MultitaskDataset(inst, enc)[i] for i in range(len(inst))], tok.pad_token_id)
    model.eval()
    with torch.no_grad():
        out = model(**batch)
    return float(out["lm_loss"]), float(out["mc_loss"])


def test_training_lowers_loss_and_checkpoints_reload(tiny_bloom, tmp_path):
    from transformers import set_seed

    from baselines.data import mix_sources

    cfg = _cfg(tiny_bloom, tmp_path, max_steps=8)
    instances = mix_sources(cfg["train"], ["fr"], "train")
    set_seed(cfg["seed"])
    before = build_model(MultitaskConfig(base_model=str(tiny_bloom), max_length=64, max_reply_tokens=16))
    tok = load_tokenizer(str(tiny_bloom))
    lm0, mc0 = _loss_on(before, tok, cfg, instances)
    summary = train_one(cfg, tmp_path / "run", ["fr"], quiet=True)
    assert summary["steps"] == 8 and summary["tokens_per_second"] > 0
    after, tok2, has_head = load_model(tmp_path / "run")
    lm1, mc1 = _loss_on(after, tok2, cfg, instances)
    assert has_head and lm1 < lm0 - 0.5, (lm0, lm1)
    assert (tmp_path / "run" / "loss.png").stat().st_size > 0
    # a checkpoint reloads with the head, and resuming continues from its step
    ckpt, _, _ = load_model(tmp_path / "run" / "checkpoint-8")
    assert _loss_on(ckpt, tok2, cfg, instances) == pytest.approx((lm1, mc1), abs=1e-5)
    resumed = train_one({**cfg, "max_steps": 10, "resume": "auto"}, tmp_path / "run", ["fr"], quiet=True)
    assert resumed["steps"] == 10


def test_lora_trains_only_adapter_and_head(tiny_bloom, tmp_path):
    cfg = _cfg(tiny_bloom, tmp_path, max_steps=3, lora=True, lora_r=4, lora_alpha=8)
    model = build_model(MultitaskConfig(base_model=str(tiny_bloom), lora=True, lora_r=4))
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n or n.startswith("mc_head") for n in trainable)
    assert any("query_key_value" in n for n in trainable) and any(n.startswith("mc_head") for n in trainable)
    base = {
        n: p.detach().clone()
        for n, p in build_model(MultitaskConfig(base_model=str(tiny_bloom))).lm.named_parameters()
    }
    train_one(cfg, tmp_path / "run", ["fr"], quiet=True)
    out = tmp_path / "run"
    assert (out / "adapter_config.json").is_file() and (out / "mc_head.safetensors").is_file()
    assert not (out / "model.safetensors").exists()
    lora_model, _, has_head = load_model(out)
    assert has_head and lora_model.is_lora
    merged_base = lora_model.lm.merge_and_unload()
    changed = [n for n, p in merged_base.named_parameters() if not torch.equal(p, base[n])]
    assert changed and all("query_key_value" in n for n in changed)  # only LoRA targets moved
    # merged export: a plain full model + head
    train_one(
        {**cfg, "export": "merged", "out": str(tmp_path / "merged")}, tmp_path / "merged", ["fr"], quiet=True
    )
    merged, _, _ = load_model(tmp_path / "merged")
    assert not merged.is_lora and (tmp_path / "merged" / "model.safetensors").is_file()


def test_missing_model_path_is_a_clear_error(tmp_path):
    with pytest.raises(MoudError, match="does not exist"):
        load_model(tmp_path / "no-such-model")
    with pytest.raises(MoudError, match="model path .* does not exist"):
        build_model(MultitaskConfig(base_model=str(tmp_path / "no-such-model")))
