"""``moud evaluate``: per-language hits@1 (classification head or LM ranking), perplexity, bits per byte,
ROUGE-L and BERTScore of a trained baseline on a test set; ``--matrix`` runs train sets x test sets x
languages and writes the paper-style table."""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from moud_core.atomic import atomic_write_text
from moud_core.errors import ConfigError, MoudError
from moud_core.jsonl import write_jsonl_atomic
from moud_core.yamlio import load_yaml

METRICS = ("hits@1", "ppl", "bpb", "rouge_l", "bertscore_f1")
METRIC_LABELS = {"hits@1": "hits@1", "ppl": "PPL", "bpb": "bits/byte", "rouge_l": "ROUGE-L",
                 "bertscore_f1": "BERTScore F1"}


def build_parser(parser: argparse.ArgumentParser) -> None:
    parser.description = ("Evaluate a model written by 'moud train' per language: hits@1 over gold + 19 "
                          "distractors, perplexity and bits per byte of the gold reply, ROUGE-L and BERTScore of "
                          "greedy generations. Writes results.json, results.md, results.png and the candidates "
                          "used (candidates.jsonl; pass it back with --candidates to re-score the same set).")
    parser.epilog = ("examples:\n  moud evaluate --model runs/both --test xpersona:../shared/data/xpersona "
                     "--split test --languages fr,ja --out eval/both\n"
                     "  moud evaluate --model runs/moud --candidates eval/both/candidates.jsonl --out eval/moud\n"
                     "  moud evaluate --matrix baselines/configs/matrix.yaml --out eval/matrix")
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    a = parser.add_argument
    a("--model", help="model folder written by 'moud train' (or a plain causal LM folder with --rank-by lm)")
    a("--test", metavar="TYPE:PATH", help="test set: xpersona:DIR, moud:DIR, personachat:FILE")
    a("--split", default="test", help="split of the test set (default test; XPersona: valid|test)")
    a("--languages", help="comma-separated language codes (default: every language of the test set)")
    a("--candidates", help="re-score the instances and candidates saved in this JSONL file")
    a("--matrix", help="YAML listing models and test sets: run every model on every test set and language")
    a("--num-candidates", type=int, default=20, help="gold + distractors per turn (default 20)")
    a("--seed", type=int, default=0, help="seed for drawing distractors (default 0)")
    a("--max-history", type=int, default=2, help="utterance pairs of history (default 2)")
    a("--rank-by", choices=["mc", "lm"], default="mc",
      help="rank candidates by the classification head (mc, default) or by mean token loss (lm, ParlAI's way)")
    a("--max-turns", type=int, help="evaluate the first N turns per language only")
    a("--max-generate", type=int, help="generate replies for the first N turns per language only")
    a("--max-new-tokens", type=int, default=40, help="greedy generation length (default 40)")
    a("--batch-size", type=int, default=16, help="generation batch size (default 16)")
    a("--no-generate", action="store_true", help="skip generation (no ROUGE-L / BERTScore)")
    a("--bertscore-model", default=None, help="BERTScore model: local folder or cached Hub id "
      "(default bert-base-multilingual-cased)")
    a("--bertscore-layer", type=int, default=None, help="BERTScore hidden layer (default 9)")
    a("--no-bertscore", action="store_true", help="skip BERTScore")
    a("--device", help="cpu or cuda (default: cuda when available)")
    a("--out", required=True, help="output folder")
    a("--quiet", action="store_true", help="no progress bars")


# -------------------------------------------------------------------------------------- evaluation

def _device(name: str | None) -> str:
    import torch

    return name or ("cuda" if torch.cuda.is_available() else "cpu")


def _segmentation(language: str) -> str:
    from moud_core.languages import load_registry

    lang = load_registry().get(language)
    return lang.segmentation if lang else "words"


def evaluate_instances(model, tokenizer, has_head: bool, instances, opts: dict) -> tuple[dict, list[dict]]:
    """Metrics per language and one record per turn for ``instances`` (candidates attached)."""
    from tqdm import tqdm

    from baselines import metrics as M
    from baselines.model import DialogueEncoder, generate_replies, score_shared_prefix

    rank_by = opts.get("rank_by", "mc")
    if rank_by == "mc" and not has_head:
        raise MoudError("the model has no trained classification head (no multitask_config.json); "
                        "use --rank-by lm")
    encoder = DialogueEncoder(tokenizer, model.cfg)
    quiet = opts.get("quiet", False)
    by_lang: dict[str, list] = {}
    for inst in instances:
        by_lang.setdefault(inst.language, []).append(inst)
    results, records = {}, []
    for lang in sorted(by_lang):
        items = by_lang[lang][: opts["max_turns"]] if opts.get("max_turns") else by_lang[lang]
        scores, labels, nll, ntok, nbytes, recs = [], [], 0.0, 0, 0, []
        for inst in tqdm(items, desc=f"score {lang}", disable=quiet):
            prefix, suffixes = encoder.encode(inst.persona, inst.history, inst.candidates)
            # LM statistics over the vocabulary only where needed: the gold reply (perplexity, bits/byte),
            # or every candidate when ranking by the LM
            s = score_shared_prefix(model, prefix, suffixes, tokenizer.pad_token_id,
                                    need_lm=True if rank_by == "lm" else {inst.label})
            ranking = s["mc"] if rank_by == "mc" else -s["lm_mean"]
            scores.append(ranking.tolist())
            labels.append(inst.label)
            gold_ids = suffixes[inst.label][:-1] if encoder.eos is not None else suffixes[inst.label]
            nll += float(s["nll_sum"][inst.label])
            ntok += int(s["ntok"][inst.label])
            scored = inst.reply if len(gold_ids) < model.cfg.max_reply_tokens else \
                tokenizer.decode(gold_ids, skip_special_tokens=True).strip()
            nbytes += M.utf8_len(scored)
            recs.append({"language": lang, "dialogue_id": inst.dialogue_id, "turn": inst.turn,
                         "label": inst.label, "predicted": max(range(len(scores[-1])), key=scores[-1].__getitem__),
                         "gold_nll": float(s["nll_sum"][inst.label]), "gold_tokens": int(s["ntok"][inst.label]),
                         "reply": inst.reply})
        res = {"turns": len(items), "hits@1": M.hits_at_1(scores, labels), "ppl": M.perplexity(nll, ntok),
               "bpb": M.bits_per_byte(nll, nbytes), "candidates": len(items[0].candidates) if items else 0}
        if not opts.get("no_generate"):
            gen_items = items[: opts["max_generate"]] if opts.get("max_generate") else items
            budget = model.cfg.max_length - opts.get("max_new_tokens", 40)
            gens, bs = [], opts.get("batch_size", 16)
            for i in tqdm(range(0, len(gen_items), bs), desc=f"generate {lang}", disable=quiet):
                batch = gen_items[i:i + bs]
                gens += generate_replies(model, encoder, [encoder.prefix(x.persona, x.history, budget) for x in batch],
                                         opts.get("max_new_tokens", 40))
            refs = [x.reply for x in gen_items]
            rouge = M.rouge_l(gens, refs, _segmentation(lang))
            res["rouge_l"] = _mean(rouge)
            res["generated"] = len(gens)
            for rec, g, r in zip(recs, gens, rouge, strict=False):
                rec["generation"], rec["rouge_l"] = g, r
            if opts.get("bertscore_model"):
                bs_f1 = M.bertscore_f1(gens, refs, opts["bertscore_model"], opts["bertscore_layer"],
                                       device=str(model.device))
                res["bertscore_f1"] = _mean(bs_f1)
                for rec, f in zip(recs, bs_f1, strict=False):
                    rec["bertscore_f1"] = f
        results[lang] = res
        records += recs
    return results, records


def _mean(xs) -> float:
    return sum(xs) / len(xs) if xs else float("nan")


def prepare_instances(test: str | dict | None, languages, split: str, opts: dict, candidates_file=None):
    """Instances with candidates: read from ``candidates_file`` or built from ``test`` (seeded)."""
    from baselines.candidates import attach_candidates, load_candidates
    from baselines.data import load_instances

    if candidates_file:
        instances = load_candidates(candidates_file)
        if languages:
            present = sorted({i.language for i in instances})
            missing = [lang for lang in languages if lang not in present]
            if missing:
                raise MoudError(f"{candidates_file}: language(s) {', '.join(missing)} absent; "
                                f"languages present: {', '.join(present)}")
            instances = [i for i in instances if i.language in languages]
        return instances
    if not test:
        raise ConfigError("give --test TYPE:PATH (or --candidates FILE)")
    instances = load_instances(test, languages, split, opts.get("max_history", 2))
    return attach_candidates(instances, opts.get("num_candidates", 20), opts.get("seed", 0))


def _resolve_bertscore(opts: dict) -> None:
    from baselines.metrics import DEFAULT_BERTSCORE_LAYER, DEFAULT_BERTSCORE_MODEL, check_bertscore_model

    if opts.get("no_bertscore") or opts.get("no_generate"):
        opts["bertscore_model"] = None
        return
    opts["bertscore_model"] = opts.get("bertscore_model") or DEFAULT_BERTSCORE_MODEL
    opts["bertscore_layer"] = opts.get("bertscore_layer") or DEFAULT_BERTSCORE_LAYER
    check_bertscore_model(opts["bertscore_model"])  # fail before hours of scoring, not after


def evaluate_model_dir(model_dir: str, instances, opts: dict) -> tuple[dict, list[dict]]:
    from baselines.model import load_model

    model, tok, has_head = load_model(model_dir, device=_device(opts.get("device")))
    return evaluate_instances(model, tok, has_head, instances, opts)


# ------------------------------------------------------------------------------------------ reports

def _fmt(metric: str, v) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "—"
    if metric in ("hits@1", "rouge_l", "bertscore_f1"):
        return f"{100 * v:.2f}"
    return f"{v:.3f}" if metric == "bpb" else f"{v:.2f}"


def results_markdown(results: dict, title: str) -> str:
    lines = [f"# {title}", "", "hits@1, ROUGE-L and BERTScore F1 in %; PPL per model token; bits/byte of the "
             "gold reply's UTF-8 bytes.", "",
             "| language | turns | " + " | ".join(METRIC_LABELS[m] for m in METRICS) + " |",
             "|---|---:|" + "---:|" * len(METRICS)]
    for lang, r in results.items():
        lines.append(f"| {lang} | {r['turns']} | " + " | ".join(_fmt(m, r.get(m)) for m in METRICS) + " |")
    return "\n".join(lines) + "\n"


def _save_png(fig, path: Path) -> None:
    import matplotlib.pyplot as plt

    tmp = path.with_name(f".{path.stem}.tmp.png")
    fig.savefig(tmp, dpi=120)
    plt.close(fig)
    tmp.replace(path)


def results_chart(results: dict, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    langs = list(results)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(max(7, 1.6 * len(langs) + 4), 3.8))
    shown = [m for m in ("hits@1", "rouge_l", "bertscore_f1") if any(m in r for r in results.values())]
    width = 0.8 / max(len(shown), 1)
    for k, m in enumerate(shown):
        ax1.bar([i + k * width for i in range(len(langs))], [100 * results[lg].get(m, float("nan")) for lg in langs],
                width, label=METRIC_LABELS[m])
    ax1.set_xticks([i + width * (len(shown) - 1) / 2 for i in range(len(langs))], langs)
    ax1.set_ylabel("%")
    ax1.legend(fontsize=8)
    ax2.bar(langs, [results[lg]["bpb"] for lg in langs], color="tab:gray")
    ax2.set_ylabel("bits per byte (lower is better)")
    fig.suptitle(title)
    fig.tight_layout()
    _save_png(fig, path)


def write_results(out: Path, results: dict, records: list[dict], meta: dict, title: str) -> None:
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "results.json", json.dumps({**meta, "languages": results}, indent=2, ensure_ascii=False))
    atomic_write_text(out / "results.md", results_markdown(results, title))
    write_jsonl_atomic(out / "predictions.jsonl", records)
    results_chart(results, out / "results.png", title)


# ------------------------------------------------------------------------------------------- matrix

MATRIX_KEYS = {"models", "tests", "languages", "num_candidates", "seed", "rank_by", "max_history", "max_turns",
               "max_generate", "max_new_tokens", "batch_size", "no_generate", "no_bertscore", "bertscore_model",
               "bertscore_layer", "device"}


def _model_for(model_dir: str, lang: str) -> str:
    """A per-language run folder (OUT/<lang>/ from 'moud train --per-language') or the model itself."""
    p = Path(model_dir)
    return str(p / lang) if not (p / "config.json").exists() and (p / lang).is_dir() else model_dir


def run_matrix(path: str, out: Path, overrides: dict) -> dict:
    from baselines.candidates import save_candidates
    from baselines.data import parse_source, source_languages

    cfg = load_yaml(path)
    if not isinstance(cfg, dict) or not isinstance(cfg.get("models"), dict) or not isinstance(cfg.get("tests"), dict):
        raise ConfigError(f"{path}: expected a mapping with 'models' {{name: folder}} and 'tests' {{name: source}}")
    unknown = sorted(set(cfg) - MATRIX_KEYS)
    if unknown:
        raise ConfigError(f"{path}: unknown key(s) {', '.join(unknown)}; expected some of {', '.join(sorted(MATRIX_KEYS))}")
    opts = {**{k: v for k, v in cfg.items() if k not in ("models", "tests")}, **overrides}
    _resolve_bertscore(opts)
    langs = opts.get("languages")
    if isinstance(langs, str):
        langs = [c.strip() for c in langs.split(",") if c.strip()]
    table: dict = {}
    for test_name, spec in cfg["tests"].items():
        src = parse_source(spec)
        split = src.get("split", "test")
        present = source_languages(src, split)
        test_langs = [lg for lg in (langs or present) if lg in present]
        if not test_langs:
            print(f"moud evaluate: test set {test_name}: none of {langs} present (has {present}); skipped",
                  file=sys.stderr)
            continue
        cand_file = out / "candidates" / f"{test_name}.jsonl"
        if cand_file.is_file():
            instances = prepare_instances(None, test_langs, split, opts, cand_file)
        else:
            instances = prepare_instances(src, test_langs, split, opts)
            save_candidates(cand_file, instances)
        for model_name, model_dir in cfg["models"].items():
            results, records = {}, []
            for lang in test_langs:
                lang_instances = [i for i in instances if i.language == lang]
                r, rec = evaluate_model_dir(_model_for(str(model_dir), lang), lang_instances, opts)
                results.update(r)
                records += rec
            meta = {"model": str(model_dir), "test": test_name, "split": split, "options": _public(opts),
                    "candidates_file": str(cand_file)}
            write_results(out / model_name / test_name, results, records, meta,
                          f"{model_name} on {test_name} ({split})")
            table.setdefault(model_name, {})[test_name] = results
    atomic_write_text(out / "matrix.json", json.dumps({"options": _public(opts), "results": table}, indent=2,
                                                      ensure_ascii=False))
    atomic_write_text(out / "matrix.md", matrix_markdown(table))
    matrix_chart(table, out / "matrix.png")
    return table


def _public(opts: dict) -> dict:
    return {k: v for k, v in opts.items() if k != "quiet"}


def matrix_markdown(table: dict) -> str:
    """Paper-style: one table per metric, rows = training set, columns = test set / language."""
    cols = []
    for per_test in table.values():
        for test, res in per_test.items():
            for lang in res:
                if (test, lang) not in cols:
                    cols.append((test, lang))
    lines = ["# Baselines: train set x test set x language", ""]
    for m in METRICS:
        if not any(m in table[mod].get(t, {}).get(lg, {}) for mod in table for t, lg in cols):
            continue
        lines += [f"## {METRIC_LABELS[m]}", "", "| train \\ test | " + " | ".join(f"{t}/{lg}" for t, lg in cols) + " |",
                  "|---|" + "---:|" * len(cols)]
        for mod, per_test in table.items():
            lines.append(f"| {mod} | " + " | ".join(_fmt(m, per_test.get(t, {}).get(lg, {}).get(m)) for t, lg in cols)
                         + " |")
        lines.append("")
    return "\n".join(lines)


def matrix_chart(table: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = sorted({(t, lg) for per_test in table.values() for t, res in per_test.items() for lg in res})
    models = list(table)
    if not cols or not models:
        return
    grid = [[100 * table[m].get(t, {}).get(lg, {}).get("hits@1", float("nan")) for t, lg in cols] for m in models]
    fig, ax = plt.subplots(figsize=(max(5, 0.9 * len(cols) + 2), 0.7 * len(models) + 1.8))
    im = ax.imshow(grid, cmap="viridis", aspect="auto")
    ax.set_xticks(range(len(cols)), [f"{t}/{lg}" for t, lg in cols], rotation=45, ha="right")
    ax.set_yticks(range(len(models)), models)
    for i, row in enumerate(grid):
        for j, v in enumerate(row):
            if not math.isnan(v):
                ax.text(j, i, f"{v:.1f}", ha="center", va="center", color="w", fontsize=8)
    fig.colorbar(im, ax=ax, label="hits@1 (%)")
    ax.set_title("hits@1: train set (rows) x test set/language (columns)")
    fig.tight_layout()
    _save_png(fig, path)


# ---------------------------------------------------------------------------------------------- run

def run(args: argparse.Namespace) -> int:
    out = Path(args.out)
    opts = {k: getattr(args, k) for k in ("num_candidates", "seed", "max_history", "rank_by", "max_turns",
                                          "max_generate", "max_new_tokens", "batch_size", "no_generate",
                                          "no_bertscore", "bertscore_model", "bertscore_layer", "device")}
    opts["quiet"] = args.quiet or not sys.stderr.isatty()
    if args.matrix:
        overrides = {k: v for k, v in opts.items() if v not in (None, False) and
                     v != build_defaults().get(k)}
        overrides["quiet"] = opts["quiet"]
        table = run_matrix(args.matrix, out, overrides)
        print(f"matrix: {len(table)} model(s) -> {out / 'matrix.md'}")
        return 0
    if not args.model:
        raise ConfigError("give --model DIR (or --matrix FILE)")
    from baselines.candidates import save_candidates
    from baselines.model import load_model

    _resolve_bertscore(opts)
    languages = [c.strip() for c in args.languages.split(",")] if args.languages else None
    model, tok, has_head = load_model(args.model, device=_device(args.device))  # fail fast on a bad path
    test = args.test
    if test and ":" in test:
        from baselines.data import parse_source

        test = {**parse_source(test)}
        test.setdefault("split", args.split)
    instances = prepare_instances(test, languages, args.split, opts, args.candidates)
    out.mkdir(parents=True, exist_ok=True)
    cand_file = Path(args.candidates) if args.candidates else out / "candidates.jsonl"
    if not args.candidates:
        save_candidates(cand_file, instances)
    results, records = evaluate_instances(model, tok, has_head, instances, opts)
    meta = {"model": args.model, "test": args.test, "split": args.split, "options": _public(opts),
            "candidates_file": str(cand_file)}
    write_results(out, results, records, meta, f"{Path(args.model).name} on {args.test or cand_file.name}")
    for lang, r in results.items():
        print(f"{lang}: " + ", ".join(f"{METRIC_LABELS[m]} {_fmt(m, r.get(m))}" for m in METRICS if m in r))
    print(f"-> {out / 'results.md'}")
    return 0


def build_defaults() -> dict:
    p = argparse.ArgumentParser()
    build_parser(p)
    return {a.dest: a.default for a in p._actions}
