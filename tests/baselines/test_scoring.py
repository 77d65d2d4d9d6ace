"""Candidate scoring: prefix-shared == independent in both ranking modes, batch planning, evaluation metrics
unchanged by LM-on-gold-only scoring, and the benchmark's FLOPs/MFU formula and --gpu code path on CPU."""

from __future__ import annotations

import json
import math

import pytest
import torch

from baselines.encoder import DialogueEncoder
from baselines.loading import load_tokenizer
from baselines.model import MultitaskConfig, build_model
from baselines.scoring import plan_groups, score_independent, score_shared_prefix
from tests.baselines.helpers import HISTORY, PERSONA

CANDS = [
    "Rien.",
    "Je vais à la montagne avec mon chat et ma sœur, on part samedi très tôt.",
    "我喜欢吃火锅。",
    "Oui.",
    "Je travaille à l'hôpital Édouard-Herriot.",
    "Je lis.",
    "On verra bien, peut-être la plage ?",
]
GOLD = 4


@pytest.fixture(scope="module")
def bloom(tiny_bloom):
    cfg = MultitaskConfig(base_model=str(tiny_bloom))
    torch.manual_seed(0)
    model = build_model(cfg).eval()
    tok = load_tokenizer(str(tiny_bloom))
    prefix, suffixes = DialogueEncoder(tok, cfg).encode(PERSONA, HISTORY, CANDS)
    return model, tok, prefix, suffixes


@pytest.mark.parametrize("need_lm", [True, {GOLD}], ids=["rank-by-lm", "rank-by-head"])
@pytest.mark.parametrize(
    "kw",
    [{}, {"max_group": 2}, {"overhead_tokens": 0}, {"overhead_tokens": 10**6}],
    ids=["auto", "max2", "no-overhead", "one-batch"],
)
def test_shared_prefix_equals_independent(bloom, need_lm, kw):
    model, tok, prefix, suffixes = bloom
    assert len(set(map(len, suffixes))) > 3  # candidates of different lengths
    shared = score_shared_prefix(model, prefix, suffixes, tok.pad_token_id, need_lm=need_lm, **kw)
    lm_rows = list(range(len(CANDS))) if need_lm is True else [GOLD]
    for batched in (True, False):
        ref = score_independent(model, prefix, suffixes, tok.pad_token_id, batched=batched, need_lm=need_lm)
        assert torch.allclose(shared["mc"], ref["mc"], atol=1e-4)
        assert torch.equal(shared["ntok"], ref["ntok"])
        assert torch.equal(shared["ntok"], torch.tensor([len(s) - 1 for s in suffixes]))
        for key in ("lm_mean", "nll_sum"):
            assert torch.allclose(shared[key][lm_rows], ref[key][lm_rows], atol=1e-4), key
            assert shared[key][lm_rows].isfinite().all() and (shared[key][lm_rows] > 0).all()
            assert torch.equal(shared[key].isnan(), ref[key].isnan())
    if need_lm is not True:  # LM statistics of the other candidates are not computed
        others = [i for i in range(len(CANDS)) if i != GOLD]
        assert shared["lm_mean"][others].isnan().all() and shared["nll_sum"][others].isnan().all()


def test_head_mode_gold_stats_equal_full_lm_mode(bloom):
    model, tok, prefix, suffixes = bloom
    full = score_shared_prefix(model, prefix, suffixes, tok.pad_token_id, need_lm=True)
    gold = score_shared_prefix(model, prefix, suffixes, tok.pad_token_id, need_lm={GOLD})
    for key in ("mc", "ntok"):
        assert torch.equal(full[key], gold[key])
    for key in ("lm_mean", "nll_sum"):
        assert abs(float(full[key][GOLD] - gold[key][GOLD])) < 1e-5
    with pytest.raises(ValueError, match="out of range"):
        score_shared_prefix(model, prefix, suffixes, tok.pad_token_id, need_lm={len(CANDS)})


def test_plan_groups_covers_all_and_limits_padding():
    lengths = [30, 5, 31, 6, 64, 5, 29, 63]
    for kw in ({}, {"max_group": 3}, {"overhead_tokens": 0}, {"overhead_tokens": 10**6}):
        groups = plan_groups(lengths, **kw)
        assert sorted(i for g in groups for i in g) == list(range(len(lengths)))
        if kw.get("max_group"):
            assert max(map(len, groups)) <= kw["max_group"]
    assert plan_groups(lengths, overhead_tokens=10**6) == [[1, 5, 3, 6, 0, 2, 7, 4]]  # one sorted batch
    assert len(plan_groups(lengths, overhead_tokens=0)) == len(set(lengths))  # no padding at all
    groups = plan_groups(lengths, overhead_tokens=8)  # short, medium and long candidates apart
    assert [sorted(lengths[i] for i in g) for g in groups] == [[5, 5, 6], [29, 30, 31], [63, 64]]
    assert plan_groups([]) == []


def test_evaluation_metrics_match_independent_scoring(tiny_bloom):
    """moud evaluate's hits@1 / perplexity / bits per byte (gold-only LM) equal a full independent scoring."""
    from baselines import metrics as M
    from baselines.evaluate import evaluate_instances
    from baselines.instance import Instance

    cfg = MultitaskConfig(base_model=str(tiny_bloom))
    torch.manual_seed(1)
    model = build_model(cfg).eval()
    tok = load_tokenizer(str(tiny_bloom))
    enc = DialogueEncoder(tok, cfg)
    instances = [
        Instance(
            "fr",
            PERSONA,
            HISTORY[: 1 + t % 3],
            CANDS[(t + 3) % len(CANDS)],
            f"d{t}",
            t,
            "test",
            candidates=CANDS,
            label=(t + 3) % len(CANDS),
        )
        for t in range(3)
    ]
    for rank_by in ("mc", "lm"):
        res, recs = evaluate_instances(
            model, tok, True, instances, {"rank_by": rank_by, "no_generate": True, "quiet": True}
        )
        scores, nll, ntok, nbytes = [], 0.0, 0, 0
        for inst in instances:
            prefix, suffixes = enc.encode(inst.persona, inst.history, inst.candidates)
            ref = score_independent(model, prefix, suffixes, tok.pad_token_id)
            scores.append((ref["mc"] if rank_by == "mc" else -ref["lm_mean"]).tolist())
            nll += float(ref["nll_sum"][inst.label])
            ntok += int(ref["ntok"][inst.label])
            nbytes += M.utf8_len(inst.reply)
        r = res["fr"]
        assert r["hits@1"] == M.hits_at_1(scores, [i.label for i in instances])
        assert r["ppl"] == pytest.approx(M.perplexity(nll, ntok), rel=1e-5)
        assert r["bpb"] == pytest.approx(M.bits_per_byte(nll, nbytes), rel=1e-5)
        assert [x["predicted"] for x in recs] == [max(range(len(s)), key=s.__getitem__) for s in scores]


def _bench():
    import benchmarks.bench_baselines

    return benchmarks.bench_baselines


def test_training_flops_and_mfu_formula(tiny_bloom):
    bench = _bench()
    # 6 (full) / 4 (LoRA) FLOPs per weight per token, LM head on gold tokens only, attention 12 * L * H * T
    assert (
        bench.training_flops(10, 5, 2, 4, 3, 7, 2, lora=False) == 6 * 10 * 7 + 6 * 5 * 2 + 12 * 2 * 4 * 3 * 7
    )
    assert (
        bench.training_flops(10, 5, 2, 4, 3, 7, 2, lora=True) == 4 * 10 * 7 + 4 * 5 * 2 + 12 * 2 * 4 * 3 * 7
    )
    assert bench.mfu(2e12, 1.0, 4.0) == pytest.approx(0.5)
    assert bench.mfu(1e12, 1.0, None) is None
    from transformers import AutoModelForCausalLM

    hf = AutoModelForCausalLM.from_pretrained(tiny_bloom)
    shape = bench.model_shape(hf)
    emb = hf.get_input_embeddings().weight
    assert shape["vocab_hidden"] == emb.numel()  # BLOOM ties input and output embeddings: counted once
    assert (
        shape["body_parameters"] + emb.numel()
        == shape["parameters"]
        == sum(p.numel() for p in hf.parameters())
    )
    # BLOOM-560M: ~0.30 B body parameters + 250,880 x 1024 head -> ~3.4 GFLOPs per trained gold token
    per_token = bench.training_flops(302_000_000, 250_880 * 1024, 24, 1024, 256, 1, 1, lora=False) / 1e9
    assert 3.2 < per_token < 3.5


def test_gpu_code_path_runs_on_cpu_with_tiny_model(tmp_path, capsys):
    bench = _bench()
    out = tmp_path / "bench.json"
    assert (
        bench.main(
            [
                "--gpu",
                "--tiny",
                "--device",
                "cpu",
                "--peak-tflops",
                "0.05",
                "--turns",
                "2",
                "--rounds",
                "1",
                "--steps",
                "1",
                "--threads",
                "1",
                "--json",
                str(out),
            ]
        )
        == 0
    )
    res = json.loads(out.read_text())["results"]
    assert res["torch_threads"] == 1 and len(res["loadavg_before"]) == 3
    for mode in ("head", "lm"):
        assert res["scoring"][mode]["max_abs_diff"] < 1e-4
        assert res["scoring"][mode]["speedup_vs_batched"]["median"] > 0
    for key in ("train_full", "train_lora"):
        r = res[key]
        assert r["tokens_per_s"] > 0 and r["model_tflops"] > 0
        assert math.isclose(r["mfu"], r["model_tflops"] / 0.05, rel_tol=1e-9)
    assert res["train_lora"]["trainable"] < res["train_full"]["trainable"]
    assert "shared speedup" in capsys.readouterr().out
