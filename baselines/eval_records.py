"""Per-instance evaluation records and the aggregates computed from them, so every number of results.json can
be recomputed from the per-language files (``<out>/<language>.jsonl``).

A record: ``id``, ``language``, ``source``, ``dialogue_id``, ``turn``, ``candidate_ids`` and ``scores`` (the
ranking score of each candidate, higher is better: the head's logit, or minus the mean token loss with
``--rank-by lm``), ``gold_index``, ``predicted``, ``gold_rank`` (1 = ranked first; ties go to the earlier
candidate), ``gold_nll`` / ``gold_tokens`` (the gold reply's tokens, end-of-reply token excluded),
``gold_eos_nll`` (that end token's NLL), ``gold_bytes`` (UTF-8 bytes of the reply as scored), ``reply``, and
when generated ``generation``, ``rouge_l`` and ``bertscore_f1``.
"""

from __future__ import annotations

import math

CONVENTIONS = {
    "hits@1": "share of turns whose gold reply has rank 1 among its candidates (ties go to the earlier "
    "candidate); chance level = mean over turns of 1 / candidates",
    "ppl": "exp(total NLL / total tokens) of the gold replies, micro-averaged over every token of the "
    "language's turns; the end-of-reply token is excluded (TransferTransfo and ParlAI include it: ppl_eos)",
    "ppl_eos": "the same with the end-of-reply token counted (TransferTransfo's convention; lower)",
    "bpb": "total NLL of the gold replies in nats (end token excluded) / ln 2 / their UTF-8 bytes",
    "rouge_l": "mean per-turn ROUGE-L F1 of greedy generations (rouge-score, script-aware tokens)",
    "bertscore_f1": "mean per-turn BERTScore F1 of greedy generations (bert-score, no idf, no rescaling)",
    "context": "the gold reply's context is cut to leave room for the longest possible reply, whatever "
    "distractors were drawn",
}


def gold_rank(scores: list[float], gold: int) -> int:
    """1 + candidates scored above the gold, counting ties before it (argmax takes the first)."""
    g = scores[gold]
    return 1 + sum(1 for i, s in enumerate(scores) if s > g or (s == g and i < gold))


def _mean(xs: list[float]) -> float:
    return sum(xs) / len(xs) if xs else float("nan")


def aggregate(records: list[dict], requested: int) -> dict:
    """One language's metrics from its records (``requested``: candidates asked for per turn)."""
    nll = sum(r["gold_nll"] for r in records)
    tokens = sum(r["gold_tokens"] for r in records)
    eos = sum(r["gold_eos_nll"] for r in records)
    nbytes = sum(r["gold_bytes"] for r in records)
    counts = [len(r["candidate_ids"]) for r in records]
    res = {
        "turns": len(records),
        "hits@1": _mean([1.0 if r["gold_rank"] == 1 else 0.0 for r in records]),
        "ppl": math.exp(nll / tokens) if tokens else float("nan"),
        "ppl_eos": math.exp((nll + eos) / (tokens + len(records))) if records else float("nan"),
        "bpb": nll / math.log(2) / nbytes if nbytes else float("nan"),
        "candidates": min(counts) if counts else 0,
        "candidates_max": max(counts) if counts else 0,
        "candidates_requested": requested,
        "chance": _mean([1 / c for c in counts]),
    }
    generated = [r for r in records if "generation" in r]
    if generated:
        res["rouge_l"], res["generated"] = _mean([r["rouge_l"] for r in generated]), len(generated)
    scored = [r["bertscore_f1"] for r in generated if "bertscore_f1" in r]
    if scored:
        res["bertscore_f1"] = _mean(scored)
    return res


def not_evaluated(reason: str) -> dict:
    """The results of a language that could not be evaluated, with the reason."""
    return {"turns": 0, "evaluated": False, "reason": reason}
