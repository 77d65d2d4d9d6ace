"""Scoring one language's turns: the candidates ranked (classification head or LM) and the gold reply's NLL,
one record per turn (fields: ``baselines.eval_records``)."""

from __future__ import annotations

from baselines import metrics as M
from baselines.eval_records import gold_rank


def score_language(model, tokenizer, encoder, items, rank_by: str, quiet: bool) -> list[dict]:
    """One record per turn of ``items`` (one language): ranking scores and the gold reply's NLL."""
    from tqdm import tqdm

    from baselines.scoring import score_shared_prefix

    records = []
    for inst in tqdm(items, desc=f"score {items[0].language}", disable=quiet):
        prefix, suffixes = encoder.encode(inst.persona, inst.history, inst.candidates)
        # LM statistics over the vocabulary only where needed: the gold reply (perplexity, bits/byte),
        # or every candidate when ranking by the LM
        s = score_shared_prefix(
            model, prefix, suffixes, tokenizer.pad_token_id, need_lm=True if rank_by == "lm" else {inst.label}
        )
        scores = (s["mc"] if rank_by == "mc" else -s["lm_mean"]).tolist()
        gold_ids = suffixes[inst.label][:-1] if encoder.eos is not None else suffixes[inst.label]
        scored = (
            inst.reply
            if len(gold_ids) < model.cfg.max_reply_tokens
            else tokenizer.decode(gold_ids, skip_special_tokens=True).strip()
        )
        ids = inst.candidate_ids or [f"{inst.id}/c{i}" for i in range(len(inst.candidates))]
        records.append(
            {
                "id": inst.id,
                "language": inst.language,
                "source": inst.source,
                "dialogue_id": inst.dialogue_id,
                "turn": inst.turn,
                "candidate_ids": ids,
                "scores": scores,
                "gold_index": inst.label,
                "predicted": max(range(len(scores)), key=scores.__getitem__),
                "gold_rank": gold_rank(scores, inst.label),
                "gold_nll": float(s["nll_sum"][inst.label]),
                "gold_tokens": int(s["ntok"][inst.label]),
                "gold_eos_nll": float(s["eos_nll"][inst.label]) if encoder.eos is not None else 0.0,
                "gold_bytes": M.utf8_len(scored),
                "reply": inst.reply,
            }
        )
    return records
