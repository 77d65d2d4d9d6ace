"""``moud judge``: score personas, common grounds and dialogues from shards with an LLM judge."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from eval.items import ITEM_KINDS
from eval.judge import JudgeJob, run_judge
from eval.judge_batches import JudgeConfig
from eval.rubric import load_rubric
from moud_core.backends.from_flags import add_backend_arguments, options_from_flags, resolve_backend_options
from moud_core.cli_help import describe
from moud_core.errors import ConfigError
from moud_core.languages import select_languages

EPILOG = """example:
  moud judge --shards runs/fr-llama --out runs/judged/fr-llama \\
      --judge-model gpt-4o --base-url https://api.openai.com/v1 --api-key-env OPENAI_API_KEY \\
      --kinds dialogue,common_ground --batch-size 4 --repeats 2 --max-rows-per-language 200

writes OUT/judgments.jsonl (one record per item and repeat), OUT/judge_manifest.json (config and
failure counts) and OUT/cache.sqlite (the request cache: re-running resumes). Exits with status 2 when
no item could be judged (the failures are in the two files).
"""


DESCRIPTION = (
    "Score personas, common grounds and dialogues with an LLM judge prompted as a native "
    "speaker of each language, using a rubric from YAML (eval/rubrics/default.yaml)."
)


def build_parser(parser: argparse.ArgumentParser) -> None:
    describe(parser, DESCRIPTION, EPILOG)
    parser.add_argument("--shards", required=True, help="run/filtered folder or its shards/ folder")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--judge-model", required=True, help="model name as the server knows it")
    add_backend_arguments(parser)
    parser.add_argument("--rubric", help="rubric YAML (default: eval/rubrics/default.yaml)")
    parser.add_argument("--kinds", default=",".join(ITEM_KINDS), help="item kinds, comma-separated")
    parser.add_argument(
        "--languages",
        default="all",
        help="language codes, comma-separated, or 'all' = every language found in --shards (default all)",
    )
    parser.add_argument("--max-rows-per-language", type=int, help="judge only the first N rows per language")
    parser.add_argument("--batch-size", type=int, default=1, help="items per request (default 1)")
    parser.add_argument(
        "--repeats",
        type=int,
        default=1,
        help="judge each batch N times; odd repeats are position-swapped (default 1)",
    )
    parser.add_argument(
        "--max-attempts", type=int, default=3, help="attempts per item before a judge failure"
    )
    parser.add_argument(
        "--temperature", type=float, default=0.0, help="first-attempt temperature (default 0)"
    )
    parser.add_argument("--retry-temperature", type=float, default=0.7, help="temperature of retries")
    parser.add_argument("--max-tokens-per-item", type=int, default=400, help="answer budget per item")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-cache", action="store_true", help="do not use the request cache")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


_OPTIONS = (
    "seed",
    "batch_size",
    "repeats",
    "max_attempts",
    "temperature",
    "retry_temperature",
    "max_tokens_per_item",
)


def _kinds(text: str) -> list[str]:
    kinds = [k.strip() for k in text.split(",") if k.strip()]
    bad = [k for k in kinds if k not in ITEM_KINDS]
    if bad or not kinds:
        raise ConfigError(
            f"--kinds: unknown kind(s) {', '.join(bad) or '(none)'}; expected {', '.join(ITEM_KINDS)}"
        )
    return kinds


def run(args) -> int:
    config = JudgeConfig.from_options(
        {
            "judge_model": args.judge_model,
            "rubric": load_rubric(args.rubric),
            **{k: getattr(args, k) for k in _OPTIONS},
            "extra": {"backend": args.backend, "kinds": _kinds(args.kinds), "shards": str(args.shards)},
        },
        label=lambda name: "--" + name.replace("_", "-"),
    )
    if args.max_rows_per_language is not None and args.max_rows_per_language < 1:
        raise ConfigError("--max-rows-per-language: expected an integer >= 1")
    options = resolve_backend_options(
        args.backend,
        args.judge_model,
        options_from_flags(args),
        args.api_key_env,
        origin=lambda key: "command line",
    )
    job = JudgeJob(
        args.shards,
        Path(args.out),
        config.extra["kinds"],
        args.backend,
        options,
        languages=select_languages(args.languages, all_means="present"),
        max_rows_per_language=args.max_rows_per_language,
        cache=not args.no_cache,
        quiet=args.quiet or not sys.stderr.isatty(),
    )
    print(run_judge(config, job).summary())
    return 0
