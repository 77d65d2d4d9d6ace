"""Every aggregate of results.json recomputed from the per-turn files (``<out>/<language>.jsonl``), and each
metric equal to a reference: hits@1 from the per-instance scores, perplexity from an independent loop over the
plain causal LM (within 1e-4), ROUGE-L from ``rouge-score`` with the script-aware tokenizer, BERTScore from
``bert-score`` on the same (tiny, locally built) model."""

from __future__ import annotations

import json
import math

import pytest
import torch

from tests.baselines.helpers import make_tiny_bert, write_xpersona_fr_zh
from tests.cli import moud

TRAIN = "--max-steps 4 --batch-size 2 --grad-accum 1 --max-length 64 --logging-steps 1 --quiet".split()


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("bl-recompute")
    xp = write_xpersona_fr_zh(tmp / "xp")
    model, out, bert = tmp / "model", tmp / "eval", make_tiny_bert(tmp / "bert")
    assert moud("train", "--model", "tiny-bloom", "--train", f"xpersona:{xp}", *TRAIN, "--out", model) == 0
    args = [
        "--num-candidates",
        "6",
        "--max-new-tokens",
        "6",
        "--bertscore-model",
        bert,
        "--bertscore-layer",
        "2",
    ]
    assert moud("evaluate", "--model", model, "--test", f"xpersona:{xp}", *args, "--out", out, "--quiet") == 0
    results = json.loads((out / "results.json").read_text())
    records = {
        lang: [json.loads(line) for line in (out / name).read_text().splitlines()]
        for lang, name in results["instance_files"].items()
    }
    return {"model": model, "out": out, "bert": bert, "results": results, "records": records}


def test_every_aggregate_recomputed_from_the_per_turn_files(evaluated):
    results, records = evaluated["results"]["languages"], evaluated["records"]
    assert set(records) == {"fr", "zh"}
    for lang, recs in records.items():
        r = results[lang]
        argmax = [max(range(len(x["scores"])), key=x["scores"].__getitem__) for x in recs]
        assert r["hits@1"] == sum(a == x["gold_index"] for a, x in zip(argmax, recs, strict=True)) / len(recs)
        for a, x in zip(argmax, recs, strict=True):
            assert (
                len(x["candidate_ids"]) == len(x["scores"]) and x["candidate_ids"][x["gold_index"]] == x["id"]
            )
            assert (x["gold_rank"] == 1) == (a == x["gold_index"]) and x["predicted"] == a
            gold = x["scores"][x["gold_index"]]
            assert x["gold_rank"] >= 1 + sum(s > gold for s in x["scores"])
        # perplexity: micro-averaged over tokens (total NLL / total tokens), end-of-reply token excluded
        nll, tokens = sum(x["gold_nll"] for x in recs), sum(x["gold_tokens"] for x in recs)
        assert r["ppl"] == pytest.approx(math.exp(nll / tokens), rel=1e-12)
        eos = sum(x["gold_eos_nll"] for x in recs)
        assert r["ppl_eos"] == pytest.approx(math.exp((nll + eos) / (tokens + len(recs))), rel=1e-12)
        assert r["bpb"] == pytest.approx(nll / math.log(2) / sum(x["gold_bytes"] for x in recs), rel=1e-12)
        assert r["rouge_l"] == pytest.approx(sum(x["rouge_l"] for x in recs) / len(recs), rel=1e-12)
        assert r["bertscore_f1"] == pytest.approx(sum(x["bertscore_f1"] for x in recs) / len(recs), rel=1e-12)
        assert r["turns"] == r["generated"] == len(recs)
        assert r["candidates"] == min(len(x["candidate_ids"]) for x in recs)
        assert r["chance"] == pytest.approx(sum(1 / len(x["candidate_ids"]) for x in recs) / len(recs))
    assert "micro-averaged over every token" in evaluated["results"]["conventions"]["ppl"]


def test_perplexity_equals_an_independent_loop_over_the_plain_lm(evaluated):
    """The gold reply's tokens scored by the plain causal LM, one full sequence at a time (log_softmax)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from baselines.candidates import load_candidates
    from baselines.encoder import DialogueEncoder
    from baselines.model import MultitaskConfig

    model_dir = evaluated["model"]
    lm = AutoModelForCausalLM.from_pretrained(model_dir, local_files_only=True).eval()
    tok = AutoTokenizer.from_pretrained(model_dir, local_files_only=True)
    cfg = MultitaskConfig.from_dict(json.loads((model_dir / "multitask_config.json").read_text()))
    enc = DialogueEncoder(tok, cfg)
    for lang in ("fr", "zh"):
        nll, tokens = 0.0, 0
        for inst in [i for i in load_candidates(evaluated["out"] / "candidates.jsonl") if i.language == lang]:
            prefix, (gold,) = enc.encode(inst.persona, inst.history, [inst.reply])
            ids = torch.tensor([prefix + gold])
            with torch.no_grad():
                logp = torch.log_softmax(lm(input_ids=ids).logits[0].double(), -1)
            reply = gold[:-1]  # the end-of-reply token is not counted (the stated convention)
            for j, t in enumerate(reply):
                nll -= float(logp[len(prefix) - 1 + j, t])
            tokens += len(reply)
        assert evaluated["results"]["languages"][lang]["ppl"] == pytest.approx(
            math.exp(nll / tokens), rel=1e-4
        )


def _rouge_tokenizer(segmentation: str):
    from moud_core.text import tokenize

    class Tok:
        def tokenize(self, text):
            return tokenize(text, segmentation)

    return Tok()


def test_rouge_l_equals_rouge_score_with_the_script_aware_tokenizer(evaluated):
    from rouge_score import rouge_scorer

    for lang, segmentation in (("fr", "words"), ("zh", "chars")):
        scorer = rouge_scorer.RougeScorer(["rougeL"], tokenizer=_rouge_tokenizer(segmentation))
        recs = evaluated["records"][lang]
        ref = [scorer.score(x["reply"], x["generation"])["rougeL"].fmeasure for x in recs]
        assert [x["rouge_l"] for x in recs] == pytest.approx(ref, abs=1e-12)
        assert evaluated["results"]["languages"][lang]["rouge_l"] == pytest.approx(
            sum(ref) / len(ref), abs=1e-12
        )


def test_bertscore_equals_bert_score_on_the_same_model(evaluated):
    import bert_score

    for lang in ("fr", "zh"):
        recs = evaluated["records"][lang]
        _, _, f1 = bert_score.score(
            [x["generation"] for x in recs],
            [x["reply"] for x in recs],
            model_type=str(evaluated["bert"]),
            num_layers=2,
            verbose=False,
        )
        got = evaluated["results"]["languages"][lang]["bertscore_f1"]
        assert got == pytest.approx(float(f1.mean()), abs=1e-5)


PAIRS = {  # (generation, reference) with partial overlap: a broken tokenizer changes the scores
    ("fr", "words"): [("j'habite à Lyon près du Rhône", "J'habite à Lyon près de la Saône."), ("oui", "non")],
    ("zh", "chars"): [("我喜欢吃火锅和喝茶", "我喜欢喝茶"), ("我住在成都", "他住在北京")],
}


def test_rouge_l_function_equals_rouge_score_on_overlapping_pairs():
    from rouge_score import rouge_scorer

    from baselines.metrics import rouge_l

    for (_, segmentation), pairs in PAIRS.items():
        scorer = rouge_scorer.RougeScorer(["rougeL"], tokenizer=_rouge_tokenizer(segmentation))
        ref = [scorer.score(r, g)["rougeL"].fmeasure for g, r in pairs]
        assert rouge_l([g for g, _ in pairs], [r for _, r in pairs], segmentation) == pytest.approx(
            ref, abs=1e-12
        )
        assert 0 < ref[0] < 1
