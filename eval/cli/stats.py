"""``moud stats``: dataset statistics that need no LLM (streams the shards)."""

from __future__ import annotations

import argparse
import sys

from eval.report import run_stats
from moud_core.cli_help import describe
from moud_core.languages import select_languages

EPILOG = """example:
  moud stats --shards runs/filtered --out runs/reports/stats --languages fr,zh,ja
  moud stats --shards runs/merged --out runs/reports/stats-by-model --by-model
  moud stats --shards runs/filtered --out runs/reports/stats --xpersona data/xpersona  # XPersona beside

writes OUT/report.md (tables), OUT/stats.json (all figures, histograms included) and PNG plots:
lid_confidence.png (when metadata.lid_scores are filled), turn_lengths.png, distinct_n.png, coverage.png,
persona_collapse.png (repeated persona sentences, names, places and near-duplicate personas per language).
"""


DESCRIPTION = (
    "Per-language statistics of generated dialogues: dialogues, turns, characters and "
    "tokens per turn, distinct-1/2 with script-aware tokens, language-ID confidence, "
    "speech-event and persona-category coverage, persona collapse (optionally beside XPersona's human "
    "personas)."
)


def build_parser(parser: argparse.ArgumentParser) -> None:
    describe(parser, DESCRIPTION, EPILOG)
    parser.add_argument("--shards", required=True, help="run/filtered folder or its shards/ folder")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument(
        "--languages",
        default="all",
        help="language codes, comma-separated, or 'all' = every language found in --shards (default all)",
    )
    parser.add_argument(
        "--by-model",
        action="store_true",
        help="one group per language and generator model (metadata.generator_model)",
    )
    parser.add_argument(
        "--xpersona",
        default=None,
        metavar="DIR",
        help="XPersona folder: measure persona collapse on its human personas too (default: none)",
    )
    parser.add_argument(
        "--xpersona-split",
        default="valid",
        choices=["valid", "validation", "test", "train"],
        help="XPersona split to read (default: valid)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args) -> int:
    languages = select_languages(args.languages, all_means="present")
    path, stats = run_stats(
        args.shards,
        args.out,
        languages,
        args.by_model,
        quiet=args.quiet or not sys.stderr.isatty(),
        xpersona=args.xpersona,
        xpersona_split=args.xpersona_split,
    )
    n = sum(s["dialogues"] for s in stats["languages"].values())
    print(f"{n} dialogue(s) in {len(stats['languages'])} group(s); wrote {path}")
    return 0
