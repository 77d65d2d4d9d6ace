"""``moud experiment RECIPE --out DIR``: run (or resume) every stage of a recipe; ``--plan`` forecasts it."""

from __future__ import annotations

import argparse

EPILOG = """examples:
  moud experiment recipes/mini-cpu.yaml --out runs/mini        # everything local: under a minute, 2 CPUs
  moud experiment recipes/mini-cpu.yaml --out runs/mini --plan # two pilots, then a per-stage forecast
  moud experiment recipes/paper.yaml --out runs/paper          # the paper's setup on a GPU server

Each stage writes DIR/<stage>/ (its log: DIR/logs/<stage>.log). Run the same command again after an
interruption: finished stages whose inputs and settings are unchanged are skipped. At the end: DIR/results.md,
DIR/results.json, DIR/results.png and the experiment card DIR/README.md."""


def build_parser(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Run the paper's experiment from one recipe: generate, filter, build, judge, report, train, evaluate."
    )
    parser.epilog = EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("recipe", help="recipe YAML (recipes/mini-cpu.yaml, recipes/paper.yaml)")
    parser.add_argument("--out", required=True, help="experiment folder (created; re-run to resume)")
    parser.add_argument(
        "--plan",
        action="store_true",
        help="run two small pilots (4 and 8 dialogues per language) in DIR/plan/ and print the expected "
        "requests, tokens and time of each stage at the recipe's full size; runs nothing else",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress lines")


def run(args: argparse.Namespace) -> int:
    if args.plan:
        from moud_experiment.plan import plan_experiment

        print(plan_experiment(args.recipe, args.out, quiet=args.quiet))
        return 0
    from moud_experiment.experiment import run_experiment

    result = run_experiment(args.recipe, args.out, quiet=args.quiet)
    out = result.out
    print(f"wrote {out / 'results.md'}, {out / 'results.json'} and the card {out / 'README.md'}")
    return 0
