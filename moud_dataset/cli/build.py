"""`moud build`: generation shards -> Hub-ready Parquet dataset (one config per language + `all`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from moud_core.cli_help import describe
from moud_core.errors import ConfigError
from moud_core.languages import load_registry
from moud_core.splits import parse_ratios
from moud_dataset.build import (
    DEFAULT_ROW_GROUP_ROWS,
    DEFAULT_ROWS_PER_FILE,
    BuildOptions,
    build_dataset,
    check_shards,
    format_report,
    print_errors,
)

EPILOG = """\
examples:
  moud build --shards runs/filtered --out runs/moud
  moud build --shards runs/filtered/shards --out runs/moud --languages fr,zh,ar --split-ratios 0.8,0.1,0.1
  moud build --shards runs/filtered --check          # validate only: every bad row as file:line: field

Writes moud/data/<lang>/{train,validation,test}-NNNNN-of-NNNNN.parquet and moud/README.md (dataset
card with `configs:` for every language and `all`). Then: load_dataset("moud", "fr") from the parent
folder, or moud_dataset.load("fr", data_dir="moud"). Exit status 2 on bad rows or bad options.
"""


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


DESCRIPTION = (
    "Build the MOUD dataset folder from generation shards: validate every row, assign "
    "grouped deterministic splits, write sorted Parquet files per language and split, "
    "and generate the dataset card."
)


def build_parser(parser: argparse.ArgumentParser) -> None:
    describe(parser, DESCRIPTION, EPILOG)
    parser.add_argument(
        "--shards",
        required=True,
        type=Path,
        help="run/filtered folder (uses DIR/shards/ and DIR/filter_stats.json) or a shards/ folder",
    )
    parser.add_argument("--out", type=Path, help="output dataset folder (required unless --check)")
    parser.add_argument(
        "--languages",
        default=None,
        help="comma-separated language codes to include, or 'all' = every language present (the default)",
    )
    parser.add_argument(
        "--split-ratios",
        default="0.9,0.05,0.05",
        help="train,validation,test ratios summing to 1 (default: 0.9,0.05,0.05)",
    )
    parser.add_argument("--seed", type=int, default=0, help="split assignment seed (default: 0)")
    parser.add_argument("--license", default="cc-by-4.0", help="license id for the card (default: cc-by-4.0)")
    parser.add_argument("--check", action="store_true", help="validate the shards only; write nothing")
    parser.add_argument(
        "--rows-per-file",
        type=_positive,
        default=DEFAULT_ROWS_PER_FILE,
        help=f"rows per Parquet file before rotating (default: {DEFAULT_ROWS_PER_FILE})",
    )
    parser.add_argument(
        "--row-group-rows",
        type=_positive,
        default=DEFAULT_ROW_GROUP_ROWS,
        help=f"rows per Parquet row group (default: {DEFAULT_ROW_GROUP_ROWS})",
    )
    parser.add_argument(
        "--workers", type=int, default=0, help="worker processes across languages (default: one per CPU core)"
    )
    parser.add_argument(
        "--languages-file",
        action="append",
        default=[],
        help="extra language registry YAML (same layout as moud_core/data/languages.yaml)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar or report")


def run(args: argparse.Namespace) -> int:
    if not args.check and args.out is None:
        raise ConfigError("--out: required unless --check is given")
    opts = BuildOptions(
        shards=args.shards,
        out=None if args.check else args.out,
        languages=args.languages,
        ratios=parse_ratios(args.split_ratios),
        seed=args.seed,
        license=args.license,
        rows_per_file=args.rows_per_file,
        row_group_rows=args.row_group_rows,
        workers=args.workers,
        progress=not args.quiet and sys.stderr.isatty(),
        registry=load_registry(args.languages_file),
    )
    if args.check:
        result = check_shards(opts)
        if result.errors:
            print_errors(result.errors)
            print(f"moud build: {len(result.errors)} problem(s) found", file=sys.stderr)
            return 2
        if not args.quiet:
            print(format_report(result.summaries, opts.ratios))
            print(
                f"ok: {sum(s['splits'][k]['dialogues'] for s in result.summaries for k in s['splits']):,} "
                "valid rows"
            )
        return 0
    result = build_dataset(opts)  # bad rows: ShardErrors, one line (the first; --check lists every one)
    if not args.quiet:
        for s in result.summaries:
            for note in s["split_notes"]:
                print(f"moud build: note: language {s['language']!r}: persona {note}", file=sys.stderr)
        print(format_report(result.summaries, opts.ratios))
        print(f"wrote {result.out}")
    return 0
