"""Generation metrics of one language's turns: greedy replies, ROUGE-L (script-aware tokens) and BERTScore,
written into the turns' records."""

from __future__ import annotations

from baselines import metrics as M


def _segmentation(language: str) -> str:
    from moud_core.languages import load_registry

    lang = load_registry().get(language)
    return lang.segmentation if lang else "words"


def generate_language(model, encoder, items, records: list[dict], opts: dict) -> None:
    """Greedy replies of the first ``max_generate`` turns; ``generation``, ``rouge_l`` (and ``bertscore_f1``)
    into their records."""
    from tqdm import tqdm

    from baselines.scoring import generate_replies

    gen_items = items[: opts["max_generate"]] if opts.get("max_generate") is not None else items
    budget = model.cfg.max_length - opts.get("max_new_tokens", 40)
    gens, bs = [], opts.get("batch_size", 16)
    for i in tqdm(
        range(0, len(gen_items), bs), desc=f"generate {items[0].language}", disable=opts.get("quiet")
    ):
        batch = gen_items[i : i + bs]
        gens += generate_replies(
            model,
            encoder,
            [encoder.prefix(x.persona, x.history, budget) for x in batch],
            opts.get("max_new_tokens", 40),
        )
    refs = [x.reply for x in gen_items]
    rouge = M.rouge_l(gens, refs, _segmentation(items[0].language))
    for rec, g, r in zip(records, gens, rouge, strict=False):
        rec["generation"], rec["rouge_l"] = g, r
    if opts.get("bertscore_model"):
        bs_f1 = M.bertscore_f1(
            gens, refs, opts["bertscore_model"], opts["bertscore_layer"], device=str(model.device)
        )
        for rec, f in zip(records, bs_f1, strict=False):
            rec["bertscore_f1"] = f
