"""``moud review``: native-speaker review in the browser (sample, serve, export)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from moud_core.cli_help import describe
from moud_core.errors import MoudError

EPILOG = """examples:
  moud review sample --dataset runs/moud --judgments runs/judged/gpt4o --languages sw,yo,fr \\
      --per-language 50 --raters 3 --out runs/review
  moud review serve runs/review                # http://127.0.0.1:8765/ ; each rater opens /#TOKEN
  moud review export runs/review               # runs/review/ratings.csv (+ marks.csv)
  moud agreement --ratings runs/review/ratings.csv --judgments runs/judged/gpt4o --out runs/reports/agreement

sample writes FOLDER/tokens.tsv (mode 0600): one secret access token per rater; send each rater the
link http://HOST:PORT/#TOKEN. Tokens are never printed or logged.
"""


def _count(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None


DESCRIPTION = (
    "Native speakers rate a stratified sample of dialogues in the browser with the judge's "
    "rubric; the ratings export to the CSV that `moud agreement` compares with the judge."
)


def build_parser(parser: argparse.ArgumentParser) -> None:
    describe(parser, DESCRIPTION, EPILOG)
    sub = parser.add_subparsers(dest="action", required=True, metavar="{sample,serve,export}")

    p = sub.add_parser("sample", help="draw a stratified sample, assign raters, write tokens")
    p.add_argument("--dataset", required=True, help="folder built by `moud build`, or a run/filtered folder")
    p.add_argument(
        "--languages",
        required=True,
        help="language codes, comma-separated, or 'all' = every registered language",
    )
    p.add_argument("--per-language", type=_count, required=True, help="dialogues per language")
    p.add_argument("--raters", type=_count, required=True, help="raters per language (at least 2)")
    p.add_argument("--raters-per-item", type=_count, default=2, help="raters per item (default 2)")
    p.add_argument(
        "--judgments",
        nargs="+",
        help="judgments.jsonl files or `moud judge` folders: adds the "
        "judge-score bucket to the strata and keeps only judged dialogues (default: "
        "DATASET/judgments*.jsonl when present)",
    )
    p.add_argument("--rubric", help="rubric YAML, the judge's (default: eval/rubrics/default.yaml)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, help="new review folder")

    p = sub.add_parser("serve", help="serve the rating page (127.0.0.1 unless --host)")
    p.add_argument("folder", help="review folder from `moud review sample`")
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to bind (default 127.0.0.1: this machine only; 0.0.0.0: every address, and the "
        "printed rater link uses this machine's name)",
    )
    p.add_argument("--port", type=int, default=8765, help="port (default 8765; 0 picks a free one)")
    p.add_argument(
        "--max-seconds", type=float, help="stop after this many seconds (default: run until stopped)"
    )

    p = sub.add_parser("export", help="write the ratings CSV for `moud agreement`")
    p.add_argument("folder", help="review folder")
    p.add_argument("--out", help="ratings CSV (default FOLDER/ratings.csv)")
    p.add_argument("--marks-out", help="skips and 'not my language' CSV (default FOLDER/marks.csv)")


def run(args) -> int:
    from eval.review.folder import create_review, load_review

    if args.action == "sample":
        manifest = create_review(
            args.out,
            args.dataset,
            args.languages,
            args.per_language,
            args.raters,
            args.raters_per_item,
            args.seed,
            args.rubric,
            args.judgments,
        )
        for lang, c in manifest["counts"].items():
            print(f"{lang}: {c['items']} item(s) of {c['available']} in {len(c['strata'])} strata")
        print(
            f"wrote {args.out}: {sum(c['items'] for c in manifest['counts'].values())} item(s), "
            f"{len(manifest['raters'])} rater(s); tokens in {Path(args.out) / 'tokens.tsv'} (keep it secret)"
        )
        return 0
    folder = load_review(args.folder)
    if args.action == "serve":
        from eval.review.serving import serve

        if args.port < 0 or args.port > 65535:
            raise MoudError(f"--port {args.port}: expected 0-65535")
        return asyncio.run(serve(folder, args.host, args.port, args.max_seconds))
    from eval.review.export import export_ratings

    out = Path(args.out or folder.path / "ratings.csv")
    marks_out = Path(args.marks_out or folder.path / "marks.csv")
    counts = export_ratings(folder, out, marks_out)
    for lang, c in counts.items():
        print(
            f"{lang}: {c['ratings']} rating(s) by {c['raters']} rater(s) on {c['items']} item(s), "
            f"{c['complete']} complete; {c['skip']} skipped, {c['not_my_language']} not my language"
        )
    print(f"wrote {out} and {marks_out}", file=sys.stderr)
    return 0
