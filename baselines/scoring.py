"""Scoring candidate replies with a ``MultitaskModel``: the shared prefix runs once and its KV cache serves
every candidate (``score_shared_prefix``), the reference that runs each full sequence (``score_independent``),
and greedy generation (``generate_replies``)."""

from __future__ import annotations

import inspect

import torch

from baselines.encoder import DialogueEncoder
from baselines.model import MultitaskModel


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
    """Per-candidate (sum NLL of reply tokens excluding eos, mean NLL including eos, NLL of the last
    token: the eos) from ``hidden`` [C, S, H] (position j predicts ``targets[:, j]``). The LM head runs
    only on the real (unpadded) positions."""
    pos = torch.arange(targets.size(1), device=targets.device)[None, :]
    valid = pos < lengths[:, None]
    logits = model.lm_head(hidden[valid]).float()  # [T, V]
    nll_valid = torch.logsumexp(logits, -1) - logits.gather(-1, targets[valid].unsqueeze(-1)).squeeze(-1)
    nll = torch.zeros(targets.shape, dtype=nll_valid.dtype, device=targets.device)
    nll[valid] = nll_valid
    reply = pos < (lengths[:, None] - 1)
    last = nll.gather(1, (lengths - 1).clamp(min=0)[:, None]).squeeze(1)
    return (nll * reply).sum(1), nll.sum(1) / lengths.clamp(min=1), last


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
    return {
        "mc": torch.full((n,), float("nan")),
        "lm_mean": torch.full((n,), float("nan")),
        "nll_sum": torch.full((n,), float("nan")),
        "eos_nll": torch.full((n,), float("nan")),
        "ntok": torch.zeros(n, dtype=torch.long),
    }


def plan_groups(
    lengths: list[int], max_group: int | None = None, overhead_tokens: int = 32
) -> list[list[int]]:
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
        groups.append(order[cut[j] : j])
        j = cut[j]
    return groups[::-1]


def _cache_argument(backbone) -> str:
    """The forward argument that takes a KV cache: ``cache`` (transformers >= 5.24), else
    ``past_key_values``."""
    return "cache" if "cache" in inspect.signature(backbone.forward).parameters else "past_key_values"


def _cache_of(out):
    """The KV cache of a forward output (``cache``, formerly ``past_key_values``)."""
    cache = getattr(out, "cache", None)
    return cache if cache is not None else out.past_key_values


def _prefix_cache(model: MultitaskModel, prefix_cache, n: int):
    """A fresh cache holding the prefix keys/values for a batch of ``n`` candidates (no deep copy)."""
    from transformers import DynamicCache

    data = [
        (layer.keys.expand(n, *layer.keys.shape[1:]), layer.values.expand(n, *layer.values.shape[1:]))
        for layer in prefix_cache.layers
    ]
    return DynamicCache(data, config=model.hf_model.config)


@torch.no_grad()
def score_shared_prefix(
    model: MultitaskModel,
    prefix: list[int],
    suffixes: list[list[int]],
    pad_id: int,
    need_lm=True,
    max_group: int | None = None,
    overhead_tokens: int | None = None,
) -> dict:
    """Score all candidates of one turn, running the shared prefix once and reusing its KV cache.

    Returns tensors ``mc`` (head logit), ``lm_mean`` (mean NLL incl. eos), ``nll_sum`` (NLL of the reply
    tokens excl. eos), ``eos_nll`` (NLL of the end-of-reply token) and ``ntok`` per candidate.
    ``need_lm`` (True, False or candidate indices) says whose LM statistics to compute (the LM head over
    the vocabulary is the costly part); the others are NaN.
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
    prefix_cache, last_prefix = _cache_of(out), out.last_hidden_state[:, -1:]
    cache_arg = _cache_argument(model.backbone)
    p = len(prefix)
    for group in plan_groups([len(s) for s in suffixes], max_group, overhead_tokens):
        n = len(group)
        ids, mask = _pad([suffixes[i] for i in group], pad_id, dev)
        full_mask = torch.cat([torch.ones((n, p), dtype=torch.long, device=dev), mask], dim=1)
        hs = model.backbone(
            input_ids=ids,
            attention_mask=full_mask,
            use_cache=True,
            **{cache_arg: _prefix_cache(model, prefix_cache, n)},
        ).last_hidden_state
        lengths = mask.sum(1)
        index = torch.tensor(group)
        res["mc"][index] = _head_scores(model, hs[torch.arange(n, device=dev), lengths - 1]).cpu()
        res["ntok"][index] = (lengths - 1).clamp(min=0).cpu()
        sel = [j for j, i in enumerate(group) if i in lm_rows]
        if sel:
            rows = torch.tensor(sel, device=dev)
            hidden = torch.cat(
                [last_prefix.expand(len(sel), 1, -1), hs[rows, :-1]], dim=1
            )  # j predicts token j
            nll_sum, mean_all, eos = _lm_stats(model, hidden, ids[rows], lengths[rows])
            res["nll_sum"][index[sel]], res["lm_mean"][index[sel]] = nll_sum.cpu(), mean_all.cpu()
            res["eos_nll"][index[sel]] = eos.cpu()
    return res


@torch.no_grad()
def score_independent(
    model: MultitaskModel,
    prefix: list[int],
    suffixes: list[list[int]],
    pad_id: int,
    batched: bool = True,
    need_lm=True,
) -> dict:
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
            nll_sum, mean_all, eos = _lm_stats(model, hs[rows, p - 1 : -1], ids[rows, p:], lengths[rows])
            res["nll_sum"][index[sel]], res["lm_mean"][index[sel]] = nll_sum.cpu(), mean_all.cpu()
            res["eos_nll"][index[sel]] = eos.cpu()
    return res


@torch.no_grad()
def generate_replies(
    model: MultitaskModel, encoder: DialogueEncoder, prefixes: list[list[int]], max_new_tokens: int = 40
) -> list[str]:
    """Greedy continuations of a batch of prefixes (left-padded), cut at the end of the turn."""
    tok = encoder.tok
    width = max(map(len, prefixes))
    dev = model.device
    ids = torch.full((len(prefixes), width), tok.pad_token_id, dtype=torch.long, device=dev)
    mask = torch.zeros_like(ids)
    for i, p in enumerate(prefixes):
        ids[i, width - len(p) :] = torch.tensor(p, dtype=torch.long)
        mask[i, width - len(p) :] = 1
    out = model.hf_model.generate(
        input_ids=ids,
        attention_mask=mask,
        max_new_tokens=max_new_tokens,
        do_sample=False,
        num_beams=1,
        pad_token_id=tok.pad_token_id,
        eos_token_id=encoder.eos,
    )
    texts = tok.batch_decode(out[:, width:], skip_special_tokens=True)
    return [t.split("\n", 1)[0].strip() for t in texts]
