"""``moud evaluate`` (and ``python -m baselines.cli.evaluate``): parse the options, run one evaluation
(``baselines.evaluate.run_evaluation``) or a matrix (``baselines.matrix.run_matrix``), print a summary."""

from __future__ import annotations

import argparse
import sys

from baselines.eval_options import DEFAULTS
from moud_core.cli_help import describe

DESCRIPTION = (
    "Evaluate a model written by 'moud train' per language: hits@1 over gold + 19 "
    "distractors, perplexity and bits per byte of the gold reply, ROUGE-L and BERTScore of "
    "greedy generations. Writes results.json, results.md, results.png, one <language>.jsonl of "
    "per-turn records per language (every aggregate can be recomputed from them) and the candidates "
    "used (candidates.jsonl; pass it back with --candidates to re-score the same set). Distractors come "
    "from other dialogues of the test source's language in any split; fewer are used (with a warning) "
    "when fewer exist."
)
EPILOG = (
    "examples:\n  moud evaluate --model runs/both --test xpersona:XPERSONA_DIR --split test "
    "--languages fr,ja --out runs/eval/both\n"
    "  moud evaluate --model runs/both --test xpersona:../shared/data/xpersona@valid --out runs/eval/valid"
    "   # ../shared has the validation files only\n"
    "  moud evaluate --model runs/moud --candidates runs/eval/both/candidates.jsonl --out runs/eval/moud\n"
    "  moud evaluate --matrix baselines/configs/matrix.yaml --out runs/eval/matrix\n"
    "  moud evaluate --matrix baselines/configs/matrix.yaml --matrix-model moud=runs/moud "
    "--matrix-test moud=moud:moud@test --languages fr,zh --threads 2 --out runs/eval/mini"
)


def build_parser(parser: argparse.ArgumentParser) -> None:
    describe(parser, DESCRIPTION, EPILOG)
    a = parser.add_argument
    a("--model", help="model folder written by 'moud train' (or a plain causal LM folder with --rank-by lm)")
    a("--test", metavar="TYPE:PATH", help="test set: xpersona:DIR, moud:DIR, personachat:FILE")
    a(
        "--split",
        default="test",
        help="split of the test set (default test; XPersona: valid|test; or TYPE:PATH@SPLIT)",
    )
    a(
        "--languages",
        help="codes, comma-separated, or 'all' = every language of the test set (default)",
    )
    a("--candidates", help="re-score the instances and candidates saved in this JSONL file")
    a("--matrix", help="YAML listing models and test sets: run every model on every test set and language")
    a(
        "--matrix-model",
        action="append",
        metavar="NAME=DIR",
        help="with --matrix: a model of the table (repeatable; when given, replaces the file's models)",
    )
    a(
        "--matrix-test",
        action="append",
        metavar="NAME=TYPE:PATH[@SPLIT]",
        help="with --matrix: a test set of the table (repeatable; when given, replaces the file's tests)",
    )
    a("--num-candidates", type=int, help="gold + distractors per turn (default 20)")
    a("--seed", type=int, help="seed for drawing distractors (default 0)")
    a("--max-history", type=int, help="utterance pairs of history (default 2)")
    a(
        "--rank-by",
        choices=["mc", "lm"],
        help="rank candidates by the classification head (mc, default) or by mean token loss "
        "(lm, ParlAI's way)",
    )
    a("--max-turns", type=int, help="evaluate the first N turns per language only")
    a("--max-generate", type=int, help="generate replies for the first N turns per language only")
    a("--max-new-tokens", type=int, help="greedy generation length (default 40)")
    a("--batch-size", type=int, help="generation batch size (default 16)")
    a("--no-generate", action="store_true", help="skip generation (no ROUGE-L / BERTScore)")
    a(
        "--bertscore-model",
        help="BERTScore model: local folder or cached Hub id (default bert-base-multilingual-cased)",
    )
    a("--bertscore-layer", type=int, help="BERTScore hidden layer (default 9)")
    a("--no-bertscore", action="store_true", help="skip BERTScore")
    a("--device", help="cpu or cuda (default: cuda when available)")
    a("--out", required=True, help="output folder")
    a("--threads", type=int, help="torch CPU threads (default: leave torch's setting as it is)")
    a("--quiet", action="store_true", help="no progress bars")


def _given_options(args: argparse.Namespace) -> dict:
    """The evaluation options given on the command line (flags left out keep the config's or the default)."""
    return {k: v for k in DEFAULTS if (v := getattr(args, k, None)) is not None and v is not False}


def run(args: argparse.Namespace) -> int:
    from baselines.report import summary_lines
    from moud_core.errors import ConfigError

    given = _given_options(args)
    given["quiet"] = args.quiet or not sys.stderr.isatty()
    if args.matrix:
        from baselines.matrix import run_matrix

        if args.languages:
            given["languages"] = args.languages
        given["models"], given["tests"] = args.matrix_model, args.matrix_test
        table = run_matrix(args.matrix, args.out, given)
        print(f"matrix: {len(table)} model(s) -> {args.out}/matrix.md")
        return 0
    if not args.model:
        raise ConfigError("give --model DIR (or --matrix FILE)")
    from baselines.evaluate import evaluation_options, run_evaluation

    opts = evaluation_options((given, "command line"))
    results = run_evaluation(
        args.model, args.out, opts, args.test, args.split, args.languages, args.candidates
    )
    from baselines.tiny import tiny_marker

    print("\n".join(summary_lines(results)))
    if tiny_marker(args.model):
        print(f"note: {tiny_marker(args.model).get('note')}")
    print(f"-> {args.out}/results.md")
    return 0
