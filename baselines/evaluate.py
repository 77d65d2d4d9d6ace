"""``moud evaluate`` as functions: per-language hits@1 (classification head or LM ranking), perplexity, bits
per byte, ROUGE-L and BERTScore of a trained baseline on a set of turns with candidates.

The turns scored are chosen once (``prepare_instances``: a test source with freshly drawn candidates, or a
saved candidates file, then ``--languages`` and ``--max-turns``) and saved as they are, so re-scoring the
saved file scores exactly the same turns with the same candidates.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from baselines.settings import language_selection, resolve
from moud_core.errors import ConfigError, MoudError
from moud_core.typed_config import at_least, to_dict


@dataclass(frozen=True)
class EvalSettings:
    """``moud evaluate``'s options (``quiet`` is display only and not recorded)."""

    num_candidates: int = field(default=20, metadata=at_least(1))
    seed: int = field(default=0, metadata=at_least(0))
    max_history: int = field(default=2, metadata=at_least(-1))
    rank_by: Literal["mc", "lm"] = "mc"
    max_turns: int | None = field(default=None, metadata=at_least(1))
    max_generate: int | None = field(default=None, metadata=at_least(1))
    max_new_tokens: int = field(default=40, metadata=at_least(1))
    batch_size: int = field(default=16, metadata=at_least(1))
    no_generate: bool = False
    no_bertscore: bool = False
    bertscore_model: str | None = None
    bertscore_layer: int | None = field(default=None, metadata=at_least(0))
    device: str | None = None
    quiet: bool = False


DEFAULTS: dict = to_dict(EvalSettings())


def evaluation_options(*layers: tuple[dict, str]) -> dict:
    """The evaluation options: defaults, then each ``(settings, where)`` layer, checked."""
    return to_dict(resolve(EvalSettings, list(layers)))


def public_options(opts: dict) -> dict:
    """The options recorded with the results (not the display ones)."""
    return {k: v for k, v in opts.items() if k != "quiet"}


def _device(name: str | None) -> str:
    import torch

    return name or ("cuda" if torch.cuda.is_available() else "cpu")


def _segmentation(language: str) -> str:
    from moud_core.languages import load_registry

    lang = load_registry().get(language)
    return lang.segmentation if lang else "words"


def _mean(xs) -> float:
    return sum(xs) / len(xs) if xs else float("nan")


def _score_language(model, tokenizer, encoder, items, rank_by: str, quiet: bool) -> tuple[dict, list[dict]]:
    """hits@1, perplexity and bits per byte of one language's turns, and one record per turn."""
    from tqdm import tqdm

    from baselines import metrics as M
    from baselines.scoring import score_shared_prefix

    scores, labels, nll, ntok, nbytes, recs = [], [], 0.0, 0, 0, []
    for inst in tqdm(items, desc=f"score {items[0].language}", disable=quiet):
        prefix, suffixes = encoder.encode(inst.persona, inst.history, inst.candidates)
        # LM statistics over the vocabulary only where needed: the gold reply (perplexity, bits/byte),
        # or every candidate when ranking by the LM
        s = score_shared_prefix(
            model, prefix, suffixes, tokenizer.pad_token_id, need_lm=True if rank_by == "lm" else {inst.label}
        )
        ranking = s["mc"] if rank_by == "mc" else -s["lm_mean"]
        scores.append(ranking.tolist())
        labels.append(inst.label)
        gold_ids = suffixes[inst.label][:-1] if encoder.eos is not None else suffixes[inst.label]
        nll += float(s["nll_sum"][inst.label])
        ntok += int(s["ntok"][inst.label])
        scored = (
            inst.reply
            if len(gold_ids) < model.cfg.max_reply_tokens
            else tokenizer.decode(gold_ids, skip_special_tokens=True).strip()
        )
        nbytes += M.utf8_len(scored)
        recs.append(
            {
                "language": inst.language,
                "dialogue_id": inst.dialogue_id,
                "turn": inst.turn,
                "label": inst.label,
                "predicted": max(range(len(scores[-1])), key=scores[-1].__getitem__),
                "gold_nll": float(s["nll_sum"][inst.label]),
                "gold_tokens": int(s["ntok"][inst.label]),
                "reply": inst.reply,
            }
        )
    res = {
        "turns": len(items),
        "hits@1": M.hits_at_1(scores, labels),
        "ppl": M.perplexity(nll, ntok),
        "bpb": M.bits_per_byte(nll, nbytes),
        "candidates": len(items[0].candidates),
    }
    return res, recs


def _generate_language(model, encoder, items, recs: list[dict], res: dict, opts: dict) -> None:
    """Greedy replies of the first ``max_generate`` turns: ROUGE-L (and BERTScore) into ``res`` and
    ``recs``."""
    from tqdm import tqdm

    from baselines import metrics as M
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
    res["rouge_l"], res["generated"] = _mean(rouge), len(gens)
    for rec, g, r in zip(recs, gens, rouge, strict=False):
        rec["generation"], rec["rouge_l"] = g, r
    if opts.get("bertscore_model"):
        bs_f1 = M.bertscore_f1(
            gens, refs, opts["bertscore_model"], opts["bertscore_layer"], device=str(model.device)
        )
        res["bertscore_f1"] = _mean(bs_f1)
        for rec, f in zip(recs, bs_f1, strict=False):
            rec["bertscore_f1"] = f


def evaluate_instances(model, tokenizer, has_head: bool, instances, opts: dict) -> tuple[dict, list[dict]]:
    """Metrics per language and one record per turn for ``instances`` (candidates attached), all of them."""
    from baselines.encoder import DialogueEncoder

    rank_by = opts.get("rank_by", "mc")
    if rank_by == "mc" and not has_head:
        raise MoudError(
            "the model has no trained classification head (no multitask_config.json); use --rank-by lm"
        )
    encoder = DialogueEncoder(tokenizer, model.cfg)
    by_lang: dict[str, list] = {}
    for inst in instances:
        by_lang.setdefault(inst.language, []).append(inst)
    results, records = {}, []
    for lang in sorted(by_lang):
        res, recs = _score_language(
            model, tokenizer, encoder, by_lang[lang], rank_by, opts.get("quiet", False)
        )
        if not opts.get("no_generate"):
            _generate_language(model, encoder, by_lang[lang], recs, res, opts)
        results[lang] = res
        records += recs
    return results, records


def first_turns(instances: list, max_turns: int | None) -> list:
    """The first ``max_turns`` instances of each language, in order (all with None)."""
    if max_turns is None:
        return list(instances)
    seen: Counter = Counter()
    out = []
    for inst in instances:
        if seen[inst.language] < max_turns:
            seen[inst.language] += 1
            out.append(inst)
    return out


def prepare_instances(
    test: str | dict | None, languages, split: str, opts: dict, candidates_file=None
) -> list:
    """The exact turns to score, with candidates: read from ``candidates_file`` or built from ``test``
    (distractors drawn, seeded, from every turn of the language), then the first ``max_turns`` per
    language."""
    from baselines.candidates import attach_candidates, load_candidates
    from baselines.data import load_instances

    if candidates_file:
        instances = load_candidates(candidates_file)
        if languages:
            present = sorted({i.language for i in instances})
            missing = [lang for lang in languages if lang not in present]
            if missing:
                raise MoudError(
                    f"{candidates_file}: language(s) {', '.join(missing)} absent; "
                    f"languages present: {', '.join(present)}"
                )
            instances = [i for i in instances if i.language in languages]
    else:
        if not test:
            raise ConfigError("give --test TYPE:PATH (or --candidates FILE)")
        instances = load_instances(test, languages, split, opts.get("max_history", 2))
        instances = attach_candidates(instances, opts.get("num_candidates", 20), opts.get("seed", 0))
    instances = first_turns(instances, opts.get("max_turns"))
    if not instances:
        where = candidates_file or (test.get("path") if isinstance(test, dict) else test)
        raise MoudError(f"{where}: no turns to evaluate")
    return instances


def evaluate_model_dir(model_dir: str, instances, opts: dict) -> tuple[dict, list[dict]]:
    from baselines.model import load_model

    model, tok, has_head = load_model(model_dir, device=_device(opts.get("device")))
    return evaluate_instances(model, tok, has_head, instances, opts)


def run_evaluation(
    model_dir: str,
    out: str | Path,
    opts: dict,
    test: str | None = None,
    split: str = "test",
    languages=None,
    candidates_file: str | None = None,
) -> dict:
    """Evaluate ``model_dir`` on ``test`` (or the saved ``candidates_file``) into ``out``; returns the
    results."""
    from baselines.candidates import save_candidates
    from baselines.data import parse_source
    from baselines.loading import check_model_source, library_progress_bars
    from baselines.metrics import resolve_bertscore
    from baselines.model import load_model
    from baselines.report import write_results
    from moud_core.outdir import os_errors, prepare_out_dir

    library_progress_bars(not opts.get("quiet"))
    check_model_source(model_dir)  # a missing model first: the cheapest check names the first problem
    resolve_bertscore(opts)
    languages = language_selection(languages, "--languages")
    model, tok, has_head = load_model(
        model_dir, device=_device(opts.get("device"))
    )  # fail fast on a bad path
    source = parse_source(test) if test else None
    if source:
        source.setdefault("split", split)
        split = source["split"]
    instances = prepare_instances(source, languages, split, opts, candidates_file)
    out = prepare_out_dir(out)
    saved = out / "candidates.jsonl"
    if not candidates_file or Path(candidates_file).resolve() != saved.resolve():
        with os_errors(saved):
            save_candidates(saved, instances)  # exactly the turns scored below
    results, records = evaluate_instances(model, tok, has_head, instances, opts)
    meta = {
        "model": model_dir,
        "test": test,
        "split": split,
        "options": public_options(opts),
        "candidates_file": str(saved),
        "source_candidates": candidates_file,
    }
    write_results(
        out, results, records, meta, f"{Path(model_dir).name} on {test or Path(candidates_file).name}"
    )
    return results
