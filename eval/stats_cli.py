"""``moud stats``: dataset statistics that need no LLM (streams the shards)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tqdm import tqdm

from eval.items import iter_rows, shard_files
from eval.report import stats_section, write_report
from eval.stats import compute_stats
from moud_core.languages import parse_language_list

EPILOG = """example:
  moud stats --shards filtered/ --out reports/stats --languages fr,zh,ja
  moud stats --shards merged/ --out reports/stats-by-model --by-model

writes OUT/report.md (tables), OUT/stats.json (all figures, histograms included) and PNG plots:
lid_confidence.png (when metadata.lid_scores are filled), turn_lengths.png, distinct_n.png, coverage.png.
"""


def build_parser(parser: argparse.ArgumentParser) -> None:
    parser.description = ("Per-language statistics of generated dialogues: dialogues, turns, characters and "
                          "tokens per turn, distinct-1/2 with script-aware tokens, language-ID confidence, "
                          "speech-event and persona-category coverage.")
    parser.epilog = EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--shards", required=True, help="run/filtered folder, shards/ folder or one .jsonl file")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--languages", default="all", help="language codes, comma-separated, or 'all'")
    parser.add_argument("--by-model", action="store_true",
                        help="one group per language and generator model (metadata.generator_model)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args) -> int:
    languages = None if args.languages == "all" else parse_language_list(args.languages)
    shard_files(args.shards, languages)   # fail before creating anything
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tqdm(unit="row", desc="stats", disable=args.quiet or not sys.stderr.isatty()) as bar:
        stats = compute_stats((row for _, row in iter_rows(args.shards, languages)), bar, args.by_model)
    path = write_report(out, [stats_section(stats, out)], "MOUD dataset statistics")
    n = sum(s["dialogues"] for s in stats["languages"].values())
    print(f"{n} dialogue(s) in {len(stats['languages'])} group(s); wrote {path}")
    return 0
