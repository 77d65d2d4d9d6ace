"""``moud evaluate`` as functions: per-language hits@1 (classification head or LM ranking), perplexity, bits
per byte, ROUGE-L and BERTScore of a trained baseline on a set of turns with candidates.

The turns scored are chosen once (``prepare_instances``: a test source with freshly drawn candidates, or a
saved candidates file, then ``--languages`` and ``--max-turns``) and saved as they are, so re-scoring the
saved file scores exactly the same turns with the same candidates. Every aggregate is computed from the
per-turn records (``baselines.eval_records``), written to ``<out>/<language>.jsonl``.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

from baselines.eval_options import DEFAULTS, evaluation_options, public_options, set_threads
from baselines.eval_records import CONVENTIONS, aggregate, not_evaluated
from baselines.settings import language_selection
from moud_core.errors import ConfigError, MoudError

__all__ = ["DEFAULTS", "evaluation_options", "public_options", "prepare_instances", "run_evaluation"]


def _device(name: str | None) -> str:
    import torch

    return name or ("cuda" if torch.cuda.is_available() else "cpu")


def warn(message: str) -> None:
    print(f"moud evaluate: warning: {message}", file=sys.stderr)


def evaluate_instances(model, tokenizer, has_head: bool, instances, opts: dict) -> tuple[dict, list[dict]]:
    """Metrics per language and one record per turn for ``instances`` (candidates attached), all of them."""
    from baselines.encoder import DialogueEncoder
    from baselines.eval_generate import generate_language
    from baselines.eval_score import score_language

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
        recs = score_language(model, tokenizer, encoder, by_lang[lang], rank_by, opts.get("quiet", False))
        if not opts.get("no_generate"):
            generate_language(model, encoder, by_lang[lang], recs, opts)
        results[lang] = aggregate(recs, opts.get("num_candidates", 20))
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


def _drop_starved(instances: list, requested: int) -> tuple[list, dict]:
    """Keep turns with at least one distractor (when distractors were asked for); warn in one line per
    language that got fewer candidates than ``requested``; a language left with no turn is not evaluated."""
    if requested <= 1:
        return instances, {}
    kept, skipped = [], {}
    for lang in sorted({i.language for i in instances}):
        items = [i for i in instances if i.language == lang]
        fed = [i for i in items if len(i.candidates) > 1]
        if not fed:
            reason = "no reply of another dialogue of this source and language to draw a distractor from"
            skipped[lang] = not_evaluated(reason)
            warn(f"language {lang!r}: not evaluated: {reason}")
            continue
        fewest = min(len(i.candidates) for i in fed)
        if fewest < requested or len(fed) < len(items):
            dropped = (
                f"; {len(items) - len(fed)} turn(s) without any left out" if len(fed) < len(items) else ""
            )
            warn(
                f"language {lang!r}: too few replies of other dialogues for {requested} candidates: "
                f"{fewest} to {max(len(i.candidates) for i in fed)} per turn{dropped}"
            )
        kept += fed
    return kept, skipped


def _load_test(src: dict, languages, split: str, max_history: int, skipped: dict) -> list:
    """The test turns; a MOUD language whose built dataset lacks the split is not evaluated (reason in
    ``skipped``) instead of failing the run."""
    from baselines.data import load_instances

    if src["type"] != "moud":
        return load_instances(src, languages, split, max_history)
    from baselines.data import source_languages

    out = []
    for lang in languages or source_languages(src, split):
        try:
            out += load_instances(src, [lang], split, max_history)
        except MoudError as exc:
            if "has no split" not in str(exc):
                raise
            skipped[lang] = not_evaluated(str(exc))
            warn(f"language {lang!r}: not evaluated: {exc}")
    return out


def prepare_instances(
    test: str | dict | None, languages, split: str, opts: dict, candidates_file=None
) -> tuple[list, dict]:
    """(the exact turns to score, with candidates; {language: not-evaluated results}): read from
    ``candidates_file`` or built from ``test`` (distractors drawn, seeded, from every turn of the source's
    language in any split, other dialogues only), then the first ``max_turns`` per language."""
    from baselines.candidates import attach_candidates, load_candidates
    from baselines.data import parse_source, source_languages
    from baselines.pools import distractor_pool

    skipped: dict = {}
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
        src = parse_source(test)
        instances = _load_test(src, languages, split, opts.get("max_history", 2), skipped)
        langs = sorted({i.language for i in instances})
        pool = distractor_pool(src, langs, opts.get("max_history", 2))
        k = opts.get("num_candidates", 20)
        instances = attach_candidates(instances, k, opts.get("seed", 0), pool=pool or None, allow_fewer=True)
        instances, starved = _drop_starved(instances, k)
        skipped.update(starved)
        split = src.get("split", split)
        for lang in languages or source_languages(src, split):
            if lang not in langs and lang not in skipped:
                skipped[lang] = not_evaluated(f"no turns in the {split} split")
                warn(f"language {lang!r}: not evaluated: no turns in the {split} split")
    instances = first_turns(instances, opts.get("max_turns"))
    if not instances and not skipped:
        where = candidates_file or (test.get("path") if isinstance(test, dict) else test)
        raise MoudError(f"{where}: no turns to evaluate")
    return instances, skipped


def evaluate_model_dir(model_dir: str, instances, opts: dict) -> tuple[dict, list[dict]]:
    from baselines.model import load_model

    model, tok, has_head = load_model(model_dir, device=_device(opts.get("device")))
    return evaluate_instances(model, tok, has_head, instances, opts)


def result_meta(model_dir: str, opts: dict, not_computed: dict) -> dict:
    """What every results.json says beside the numbers: options, conventions, what was not computed, and
    the meaningless-results note of a tiny model."""
    from baselines.tiny import tiny_marker

    meta = {"model": model_dir, "options": public_options(opts), "conventions": CONVENTIONS}
    if not_computed:
        meta["not_computed"] = not_computed
    marker = tiny_marker(model_dir)
    if marker:
        meta["note"] = marker.get("note")
    return meta


def bertscore_status(opts: dict) -> dict:
    """{"bertscore_f1": reason} when BERTScore cannot be computed (warned in one line), else {}."""
    from baselines.metrics import resolve_bertscore

    reason = resolve_bertscore(opts)
    if reason:
        warn(f"BERTScore not computed: {reason}")
        return {"bertscore_f1": reason}
    return {}


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
    from baselines.model import load_model
    from baselines.report import write_results
    from moud_core.outdir import os_errors, prepare_out_dir

    set_threads(opts.get("threads"))
    library_progress_bars(not opts.get("quiet"))
    check_model_source(model_dir)  # a missing model first: the cheapest check names the first problem
    not_computed = bertscore_status(opts)
    languages = language_selection(languages, "--languages")
    model, tok, has_head = load_model(
        model_dir, device=_device(opts.get("device"))
    )  # fail fast on a bad path
    source = parse_source(test) if test else None
    if source:
        source.setdefault("split", split)
        split = source["split"]
    instances, skipped = prepare_instances(source, languages, split, opts, candidates_file)
    if candidates_file:  # the file says how many candidates were asked for
        opts = {**opts, "num_candidates": max(len(i.candidates) for i in instances)}
    out = prepare_out_dir(out)
    saved = out / "candidates.jsonl"
    if not candidates_file or Path(candidates_file).resolve() != saved.resolve():
        with os_errors(saved):
            save_candidates(saved, instances)  # exactly the turns scored below
    results, records = evaluate_instances(model, tok, has_head, instances, opts) if instances else ({}, [])
    results = dict(sorted({**results, **skipped}.items()))
    meta = {
        **result_meta(model_dir, opts, not_computed),
        "test": test,
        "split": split,
        "candidates_file": str(saved),
        "source_candidates": candidates_file,
    }
    write_results(
        out, results, records, meta, f"{Path(model_dir).name} on {test or Path(candidates_file).name}"
    )
    return results
