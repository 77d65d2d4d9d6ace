"""``moud merge``: combine the shards of sharded runs into one run folder (logic: ``generation.merge``)."""

from __future__ import annotations

import argparse
import sys

from moud_core.cli_help import describe
from moud_core.errors import os_error

EXAMPLE = """\
examples:
  # 4 workers, each with its own folder (e.g. a Slurm array writing runs/part-$SLURM_ARRAY_TASK_ID):
  moud merge --inputs runs/part-0 runs/part-1 runs/part-2 runs/part-3 --out runs/merged

  # workers that shared one folder (--num-shards N --shard-index I --out runs/big):
  moud merge --inputs runs/big --out runs/big-merged

  # keep going with what is there while some workers are still missing:
  moud merge --inputs runs/part-* --out runs/partial --allow-incomplete

Refuses inputs made with different configs (fingerprints), duplicate dialogue ids (the same work unit in
two inputs) and, unless --allow-incomplete, runs with missing work units (it lists them).
Output: MERGED/shards/<lang>/shard-NNNNN.jsonl, MERGED/failures/..., MERGED/drops/...,
MERGED/manifest.json."""


DESCRIPTION = (
    "Combine the shards of sharded `moud generate` runs of one config into one run folder "
    "(checks config fingerprints, duplicate ids and missing work units)."
)


def build_parser(parser: argparse.ArgumentParser) -> None:
    describe(parser, DESCRIPTION, EXAMPLE)
    parser.add_argument("--inputs", nargs="+", required=True, metavar="RUN", help="run folders to combine")
    parser.add_argument("--out", required=True, help="merged run folder (must not exist unless --overwrite)")
    parser.add_argument(
        "--allow-incomplete",
        action="store_true",
        help="write the merge even when work units are missing (manifest status 'partial')",
    )
    parser.add_argument("--overwrite", action="store_true", help="replace --out if it exists")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args) -> int:
    from generation.merge import merge

    try:
        result = merge(
            args.inputs,
            args.out,
            allow_incomplete=args.allow_incomplete,
            overwrite=args.overwrite,
            progress=not args.quiet and sys.stderr.isatty(),
        )
    except OSError as exc:
        raise os_error(args.out, exc) from None
    line = (
        f"merged {result['dialogues']} dialogues ({result['failed']} failed, {result['dropped']} dropped) "
        f"from {len(args.inputs)} input(s) into {result['out']}: {result['status']}"
    )
    if result["missing_units"]:
        line += f"; {result['missing_units']} of {result['planned_units']} work units missing"
    print(line, file=sys.stderr)
    return 0
